"""Registry, pyfunc and promotion gate against a real MLflow (sqlite DB + local artifacts in tmp)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from health_training.ml.lm.tiny import build_tiny_model
from health_training.ml.registry.promotion_gate import evaluate_gate, load_gate_policy
from health_training.ml.registry.tracking import Registry

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny Llama of `ml/lm/tiny.py` (base dir) and a LoRA adapter on it (adapter dir)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer, LlamaForCausalLM

    root = tmp_path_factory.mktemp("tiny")
    build_tiny_model(root / "base")
    tokenizer = AutoTokenizer.from_pretrained(root / "base")
    base = LlamaForCausalLM.from_pretrained(root / "base").eval()
    torch.manual_seed(0)  # the adapter's random matrices: the same in every run
    # init_lora_weights=False: random B matrices, so the adapter visibly changes the logits.
    lora = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(base, lora).eval()
    peft_model.save_pretrained(root / "adapter")
    tokenizer.save_pretrained(root / "adapter")
    return {
        "base": root / "base",
        "adapter": root / "adapter",
        "model": peft_model,
        "tok": tokenizer,
    }


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    # The tests' own fluent calls (MlflowClient(), get_model_info) read the global URI; the
    # Registry itself never leaves one set.
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    mlflow.set_registry_uri(f"sqlite:///{root / 'mlflow.db'}")
    return root


def named(tracking: Path, model_name: str = "health-query-olmo") -> Registry:
    return Registry(
        f"sqlite:///{tracking / 'mlflow.db'}",
        str(tracking / "artifacts"),
        experiment="health-query",
        model_name=model_name,
    )


@pytest.fixture(scope="module")
def registry(tracking) -> Registry:
    return named(tracking)


@pytest.fixture(scope="module")
def logged(tiny, registry):
    """One training run with step metrics and a logged, bundled adapter model."""
    run_id = registry.start_training_run(params={"lora_r": 4, "lr": 1e-3}, tags={"base": "tiny"})
    for step, loss in enumerate([2.0, 1.5, 1.2]):
        registry.log_step_metrics(run_id, {"train_loss": loss}, step=step)
    registry.log_step_metrics(run_id, {"eval_loss": 1.1, "f1": 0.4}, step=3)
    uri = registry.log_adapter_model(
        run_id,
        tiny["adapter"],
        base_model="tiny-llama",
        base_revision=None,
        base_dir=tiny["base"],
        bundle_base=True,
    )
    return {"run_id": run_id, "uri": uri}


@pytest.mark.slow
def test_register_sets_staging_and_loads_self_contained(tiny, tracking, registry, logged):
    import mlflow
    import torch

    version = registry.register(logged["uri"], tags={"data_month": "2025-03-01"})
    assert version == "1"
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("health-query-olmo", "staging").version) == "1"
    assert client.get_run(logged["run_id"]).info.status == "RUNNING"  # logging left it running
    info = mlflow.models.get_model_info("models:/health-query-olmo@staging")
    assert set(info.flavors["python_function"]["artifacts"]) == {"adapter", "base"}
    assert info.metadata["base_model"] == "tiny-llama" and info.saved_input_example_info
    # Artifacts land under the configured location, not in ./mlruns.
    assert list((tracking / "artifacts").rglob("adapter_config.json"))

    loaded = mlflow.pyfunc.load_model("models:/health-query-olmo@staging")
    out = loaded.predict([{"instruction": "Summarize", "input": "Mean 142 mg/dL"}])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], str)
    out = loaded.predict(
        [{"prompt": "<|im_start|>user\nHi<|im_end|>\n"}, {"instruction": "Summarize"}],
        params={"max_new_tokens": 3},
    )
    assert len(out) == 2

    # The served weights are the in-memory PEFT model's: base attention weights included.
    served = loaded.unwrap_python_model().model
    ids = tiny["tok"]("Mean glucose 142 mg/dL", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = tiny["model"](input_ids=ids).logits
        got = served(input_ids=ids).logits
        with tiny["model"].disable_adapter():
            base_only = tiny["model"](input_ids=ids).logits
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got, base_only, atol=1e-4)  # the adapter is really applied


@pytest.mark.slow
def test_version_metrics_reads_the_source_run(tracking, logged):
    other = named(tracking, "metrics-model")
    version = other.register(logged["uri"])
    metrics = other.version_metrics(version)
    assert metrics["train_loss"] == pytest.approx(1.2)  # the latest step
    assert metrics["eval_loss"] == pytest.approx(1.1)


@pytest.mark.slow
def test_unbundled_base_is_named_not_copied(tiny, tracking, registry):
    import mlflow

    run_id = registry.start_training_run(params={}, tags={})
    # Another active run (dagster-mlflow starts one) must neither receive the model nor end.
    with mlflow.start_run(
        experiment_id=mlflow.get_experiment_by_name("health-query").experiment_id
    ):
        outer = mlflow.active_run().info.run_id
        uri = registry.log_adapter_model(
            run_id,
            tiny["adapter"],
            base_model=str(tiny["base"]),
            base_revision="main",
            bundle_base=False,
        )
        assert mlflow.active_run().info.run_id == outer
    info = mlflow.models.get_model_info(uri)
    assert info.run_id == run_id
    assert info.metadata == {"base_model": str(tiny["base"]), "base_revision": "main"} | {
        "bundle_base": False
    }
    assert set(info.flavors["python_function"]["artifacts"]) == {"adapter"}
    loaded = mlflow.pyfunc.load_model(uri)
    assert len(loaded.predict([{"instruction": "Summarize"}], params={"max_new_tokens": 2})) == 1


def test_log_adapter_model_checks_its_inputs_first(tmp_path: Path, registry):
    with pytest.raises(FileNotFoundError, match="not a PEFT adapter directory"):
        registry.log_adapter_model(
            "run", tmp_path, base_model="x", base_revision=None, bundle_base=False
        )
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(ValueError, match="bundle_base=True needs base_dir"):
        registry.log_adapter_model(
            "run", tmp_path, base_model="x", base_revision=None, bundle_base=True
        )


PROD = {
    "eval_loss": 1.0,
    "fact_accuracy": 0.95,
    "fact_recall": 0.9,
    "hallucinated_number_rate": 0.01,
    "phi_rate": 0.0,
    "rougeL": 0.30,
}


# --- promotion and rollback ---------------------------------------------------------------


@pytest.mark.slow
def test_promote_then_rollback(tracking, logged):
    name = "promo-model"
    registry = named(tracking, name)
    v1 = registry.register(logged["uri"])
    v2 = registry.register(logged["uri"])
    assert registry.production_version() is None
    with pytest.raises(ValueError, match="no 'production' alias"):
        registry.rollback(by="ops", reason="x", now="2025-04-01T00:00:00Z")

    ok = evaluate_gate(PROD, load_gate_policy(), intervals=None, emissions_kg=0.1, n_test=200)
    registry.promote(v1, approved_by="alice", reason="first", decision=ok, now="t1")
    with pytest.raises(ValueError, match="nothing to roll back to"):
        registry.rollback(by="ops", reason="x", now="t1b")

    bad = evaluate_gate(PROD, load_gate_policy(), intervals=None, emissions_kg=9.0, n_test=200)
    with pytest.raises(ValueError, match="failed the promotion gate: emissions"):
        registry.promote(v2, approved_by="bob", reason="r", decision=bad, now="t2")
    registry.promote(v2, approved_by="bob", reason="better F1", decision=ok, now="t2")
    registry.promote(v2, approved_by="bob", reason="retry", decision=ok, now="t2")  # no-op

    prod = registry.production_version()
    assert str(prod.version) == v2
    assert prod.tags["promotion.approved_by"] == "bob"
    assert prod.tags["promotion.at"] == "t2" and prod.tags["promotion.reason"] == "better F1"
    assert prod.tags["promotion.gate_passed"] == "True"
    assert prod.tags["promotion.previous_production"] == v1
    assert json.loads(prod.tags["promotion.scores"])["passed"] is True

    restored = registry.rollback(by="carol", reason="bad outputs", now="t3")
    assert restored == v1 and str(registry.production_version().version) == v1
    import mlflow

    client = mlflow.MlflowClient()
    rolled = client.get_model_version(name, v2).tags
    assert rolled["rollback.by"] == "carol" and rolled["rollback.restored"] == v1
    assert client.get_model_version(name, v1).tags["rollback.restored_from"] == v2
    history = json.loads(client.get_registered_model(name).tags["promotion.history"])
    assert [(e["action"], e["version"]) for e in history] == [
        ("promote", v1),
        ("promote", v2),
        ("rollback", v1),
    ]
    with pytest.raises(ValueError, match="nothing to roll back to"):
        registry.rollback(by="ops", reason="again", now="t4")


@pytest.mark.slow
def test_forced_promotion_is_on_the_record(tracking, logged):
    registry = named(tracking, "forced-model")
    v1 = registry.register(logged["uri"])
    bad = evaluate_gate(PROD, load_gate_policy(), intervals=None, emissions_kg=9.0, n_test=200)
    registry.promote(v1, approved_by="lead", reason="ok", decision=bad, now="t", force=True)
    tags = registry.production_version().tags
    assert tags["promotion.forced"] == "True" and tags["promotion.gate_passed"] == "False"


@pytest.mark.slow
def test_production_and_challenger_answer_the_held_out_rated_prompts(tiny, tracking, logged):
    """The gate's rated-prompt pass on a real registry: production's adapter is downloaded,
    both adapters answer on one base, and each pass leaves the weights as it found them (the
    same adapter twice gives the same greedy answers: a zero difference)."""
    from health_training.ml.evaluation.answer_and_compare import DecodingSettings
    from health_training.ml.registry.rated_prompts import RatedPrompt
    from health_training.ml.registry.version_comparison import adapter_fetcher, rated_comparison

    other = named(tracking, "rated-model")
    version = other.register(logged["uri"])
    prompts = [
        RatedPrompt(f"k{i}", "Summarize my glucose.", f"Mean {140 + i} mg/dL", (), ("bad",))
        for i in range(3)
    ]
    seen: list[str] = []
    settings = DecodingSettings(max_new_tokens=6, batch_size=2)
    kw = dict(
        base_name=str(tiny["base"]),
        models_dir=tracking,
        settings_doc={k: getattr(settings, k) for k in settings.__slots__},
        log=seen.append,
    )
    fetch = adapter_fetcher(other, tracking / "gate-cache")
    found = rated_comparison(fetch, version, prompts, tiny["adapter"], **kw)
    assert found is not None and set(found) == {"rated_agreement", "hallucinated_number_rate"}
    agreement = found["rated_agreement"]
    assert agreement["n"] == 3 and agreement["diff"] == 0.0
    assert (agreement["ci_low"], agreement["ci_high"]) == (0.0, 0.0)
    assert seen == [f"production v{version} and the challenger answer 3 held-out rated prompts"]
    # nothing to compare: no production, no prompts
    assert rated_comparison(fetch, None, prompts, tiny["adapter"], **kw) is None
    assert rated_comparison(fetch, version, [], tiny["adapter"], **kw) is None
