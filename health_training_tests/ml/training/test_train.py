"""Training mechanics on the tiny random model: packing, masking, resume, QLoRA, identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from health_training.data.records import Example
from health_training.ml.lm.packing import pack
from health_training.ml.lm.prompts import IGNORE_INDEX, Encoded
from health_training.ml.training.config import TrainConfig, load_train_config
from health_training.ml.training.run_record import precision_for_hardware, run_identity
from health_training.ml.training.sft import train
from health_training_tests.tiny_training import glucose_examples, tiny_models_dir, write_dataset_dir

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return tiny_models_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return write_dataset_dir(
        tmp_path_factory.mktemp("dataset"), glucose_examples(120, quality_score=0.9)
    )


def _config(**over) -> TrainConfig:
    base = dict(
        base_model="tiny-random",
        epochs=1,
        max_steps=4,
        batch_size=2,
        grad_accum=1,
        learning_rate=5e-3,
        warmup_ratio=0.0,
        lr_scheduler="constant",
        max_length=128,
        eval_steps=2,
        save_steps=2,
        save_total_limit=5,
        gradient_checkpointing=False,
        max_eval_examples=8,
        early_stopping_patience=0,
    )
    base.update(over)
    return TrainConfig(**base)


def test_packing_keeps_every_token_and_masks_the_prompt():
    a = Encoded([1, 2, 3, 4], [IGNORE_INDEX, IGNORE_INDEX, 3, 4])
    b = Encoded([5, 6, 7], [IGNORE_INDEX, 6, 7])
    c = Encoded(list(range(20)), list(range(20)))  # too long for 8
    data = pack([("a", a), ("b", b), ("c", c)], 8, pad_id=0)
    assert (data.examples, data.too_long, data.too_long_keys) == (2, 1, ("c",))
    (row,) = data.rows
    assert row["input_ids"] == [1, 2, 3, 4, 5, 6, 7, 0]
    assert row["labels"] == [IGNORE_INDEX, IGNORE_INDEX, 3, 4, IGNORE_INDEX, 6, 7, IGNORE_INDEX]
    assert row["position_ids"] == [0, 1, 2, 3, 0, 1, 2, 0]  # restarts: no cross-example attention
    assert data.tokens == 7 and data.response_tokens == 4


def test_profiles_load_with_the_specs_defaults():
    balanced = load_train_config("balanced")
    assert (balanced.lora.r, balanced.lora.alpha, balanced.lora.dropout) == (16, 32, 0.05)
    assert balanced.lora.target_modules == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert (balanced.epochs, balanced.batch_size, balanced.grad_accum, balanced.learning_rate) == (
        3,
        4,
        8,
        2e-4,
    )
    assert balanced.load_best_model_at_end and balanced.gradient_checkpointing
    assert balanced.early_stopping_patience == 3
    for name in ("fast", "quality", "memory_efficient", "cpu_demo"):
        assert load_train_config(name).profile == name
    assert load_train_config("memory_efficient").quantization == "4bit"
    with pytest.raises(FileNotFoundError, match="profiles: balanced"):
        load_train_config("nope")


def test_identity_changes_with_data_config_and_prompt():
    kw = dict(base="b", revision="r", dataset_version="d", config=_config(), prompt_format="p")
    same = run_identity(**kw)
    assert run_identity(**kw) == same
    assert run_identity(**{**kw, "dataset_version": "d2"}) != same
    assert run_identity(**{**kw, "config": _config(learning_rate=1e-4)}) != same
    assert run_identity(**{**kw, "prompt_format": "q"}) != same


def test_trains_saves_and_reports(models_dir, dataset_dir, tmp_path):
    events = []
    result = train(
        _config(),
        dataset_dir,
        tmp_path / "out",
        models_dir=models_dir,
        dataset_version="v1",
        progress=events.append,
    )
    assert result.steps == 4 and result.resumed_from is None
    assert (result.adapter_dir / "adapter_config.json").exists()
    assert 0 < result.trainable_params < result.total_params
    assert result.tokens_trained > 0 and result.tokens_per_second > 0
    assert result.eval_loss is not None and result.perplexity is not None
    assert result.precision == precision_for_hardware()  # bf16 on an AMX CPU, fp32 without
    assert [e["step"] for e in events if "loss" in e][:4] == [1, 2, 3, 4]
    assert all(e["tokens_per_s"] >= 0 for e in events)


def test_an_interrupted_run_resumes_from_its_checkpoint(models_dir, dataset_dir, tmp_path):
    out = tmp_path / "out"
    first = train(
        _config(max_steps=6),
        dataset_dir,
        out,
        models_dir=models_dir,
        dataset_version="v1",
        stop_after_steps=2,
    )
    assert first.steps == 2
    assert (first.run_dir / "checkpoints" / "checkpoint-2").exists()
    resumed = train(
        _config(max_steps=6), dataset_dir, out, models_dir=models_dir, dataset_version="v1"
    )
    assert resumed.resumed_from == "checkpoint-2"
    assert resumed.steps == 6
    # the same identity again, finished: a no-op that says so, never a step past the plan
    events: list[dict] = []
    again = train(
        _config(max_steps=6),
        dataset_dir,
        out,
        models_dir=models_dir,
        dataset_version="v1",
        progress=events.append,
    )
    assert again.identity == resumed.identity and again.steps == 6
    assert events == [{"event": "finished_before", "step": 6, "max_steps": 6}]
    assert not (again.run_dir / "checkpoints" / "checkpoint-7").exists()
    # another dataset version is another identity: it starts fresh, never from that checkpoint
    other = train(
        _config(max_steps=2), dataset_dir, out, models_dir=models_dir, dataset_version="v2"
    )
    assert other.resumed_from is None and other.identity != resumed.identity


def test_qlora_4bit_trains_on_cpu(models_dir, dataset_dir, tmp_path):
    result = train(
        _config(quantization="4bit", max_steps=2, eval_steps=2, save_steps=2),
        dataset_dir,
        tmp_path / "q",
        models_dir=models_dir,
        dataset_version="v1",
    )
    assert result.steps == 2 and (result.adapter_dir / "adapter_model.safetensors").exists()


def test_warm_start_from_another_adapter_is_explicit(models_dir, dataset_dir, tmp_path):
    first = train(
        _config(max_steps=2),
        dataset_dir,
        tmp_path / "a",
        models_dir=models_dir,
        dataset_version="v1",
    )
    warm = train(
        _config(max_steps=2, warm_start_adapter=str(first.adapter_dir)),
        dataset_dir,
        tmp_path / "b",
        models_dir=models_dir,
        dataset_version="v1",
    )
    assert warm.identity != first.identity and warm.steps == 2


def test_a_retrain_with_n_corrections_trains_on_all_n(models_dir, tmp_path):
    """A capped sample keeps every user correction (they are the reason for the retrain); before,
    the 480-example cap took 4 of 20 corrections."""
    import json

    from health_training.data.config import SplitPolicy
    from health_training.data.dataset import build_training_dataset

    narratives = glucose_examples(60, quality_score=0.9)
    corrections = [
        Example(
            f"Was my glucose of {150 + i} mg/dL ok?",
            "",
            f"An average of {150 + i} mg/dL is within the 70-180 mg/dL range.",
            {
                "source_format": "feedback",
                "training_category": "metabolic_diabetes",
                "content_key": f"correction-{i:02d}",
            },
        )
        for i in range(12)
    ]
    dataset = build_training_dataset({"2025-01": narratives}, SplitPolicy(), train_only=corrections)
    folder = tmp_path / "dataset"
    folder.mkdir()
    for name, data in dataset.files.items():
        (folder / f"{name}.parquet").write_bytes(data)
    (folder / "manifest.json").write_text(json.dumps(dataset.manifest))
    events = []
    train(
        _config(max_steps=-1, max_train_examples=8, batch_size=4),
        folder,
        tmp_path / "out",
        models_dir=models_dir,
        dataset_version=dataset.version,
        progress=events.append,
    )
    plan = next(e for e in events if e["event"] == "plan")
    assert plan["corrections"] == 12
    assert plan["train_examples"] == 12 + 8  # every correction, the narratives capped at 8


def test_the_head_only_where_a_target_is_gives_the_stock_loss_and_gradients(tmp_path):
    """compute_loss runs the LM head only at positions before a response token; the loss and
    every LoRA gradient equal transformers' own causal-LM loss on the same packed row."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from health_training.ml.lm.tiny import build_tiny_model
    from health_training.ml.training.response_loss import response_loss_trainer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "tiny"))
    model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    for name, p in model.named_parameters():
        if "lora_B" in name:  # non-zero B, so the adapters take part in the gradients
            torch.nn.init.normal_(p, std=0.02)
    vocab = model.config.vocab_size
    a = Encoded([1, 5, 6, 7, 8, 2], [IGNORE_INDEX] * 3 + [7, 8, 2])
    b = Encoded([1, 9, 10, 11, 2], [IGNORE_INDEX] * 2 + [10, 11, 2])
    packed = pack([("a", a), ("b", b), ("c", a)], 24, pad_id=0)
    rows = packed.rows
    inputs = {k: torch.tensor([r[k] for r in rows]) for k in rows[0]}
    assert int(inputs["input_ids"].max()) < vocab

    stock = model(**inputs).loss
    stock.backward()
    stock_grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    ours = response_loss_trainer().compute_loss(None, model, inputs)
    ours.backward()
    assert torch.allclose(ours, stock, rtol=1e-5)
    assert stock_grads
    for name, grad in stock_grads.items():
        assert torch.allclose(dict(model.named_parameters())[name].grad, grad, atol=1e-6), name
    # With gradient accumulation, Trainer passes the response tokens of all accumulated batches.
    halved = response_loss_trainer().compute_loss(
        None, model, inputs, num_items_in_batch=2 * int((inputs["labels"][:, 1:] != -100).sum())
    )
    assert torch.allclose(halved, stock / 2, rtol=1e-5)
