"""The model plane materialized in process on the tiny random model, against a real MLflow
(SQLite) and real CodeCarbon: adapter → eval → emissions → registered pyfunc → gate → promote."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from health_training.defs.data import checks
from health_training.defs.data.datasets import training_dataset
from health_training.defs.data.narratives import curated_narratives, raw_narratives
from health_training.defs.registry.assets import registered_model
from health_training.defs.training.adapter import lora_adapter
from health_training.defs.training.emissions import emissions_report
from health_training.defs.training.eval_report import eval_report
from health_training.etl.generator import generate_corpus
from health_training.ml.registry.version_gate import promote_recorded
from health_training.resources import (
    CarbonResource,
    JudgeResource,
    LocalStorage,
    MlflowResource,
    PhiResource,
    TrainingResource,
)

pytestmark = pytest.mark.slow

MODEL_ASSETS = [lora_adapter, eval_report, emissions_report, registered_model]


@pytest.fixture
def home(tmp_path, monkeypatch):
    from health_training.ml.lm.tiny import build_tiny_model

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    build_tiny_model(tmp_path / "models" / "tiny-random")
    return tmp_path


def _resources(home):
    return {
        "storage": LocalStorage(root=str(home / "lake")),
        "phi": PhiResource(pseudonym_key="t" * 32),
        "training": TrainingResource(home=str(home), profile="cpu_demo"),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
            artifact_location=str(home / "artifacts"),
        ),
        "carbon": CarbonResource(country_iso_code="USA"),
        "judge": JudgeResource(),
    }


TRAIN_CONFIG = {
    "ops": {
        "lora_adapter": {
            "config": {"base_model": "tiny-random", "max_steps": 3, "reason": "manual"}
        },
        "eval_report": {"config": {"max_examples": 6}},
    }
}


def test_graph_end_to_end_then_gate_and_promote(home):
    res = _resources(home)
    corpus = generate_corpus([(2025, 1)], 4, 5, phi_note_share=0.03, malformed_share=0.01)
    for key, data in corpus.files.items():
        res["storage"].write_bytes(key, data)
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(
        [raw_narratives, curated_narratives],
        resources=res,
        instance=instance,
        partition_key="2025-01",
    ).success
    first = dg.materialize(
        [training_dataset, checks.min_examples_per_split, checks.split_leakage, *MODEL_ASSETS],
        resources=res,
        instance=instance,
        run_config=TRAIN_CONFIG,
    )
    assert first.success

    adapter = {
        k: v.value
        for k, v in first.asset_materializations_for_node("lora_adapter")[0].metadata.items()
    }
    assert adapter["steps"] == 3 and 0 < adapter["trainable_params"] < adapter["total_params"]
    assert adapter["tokens_per_second"] > 0 and adapter["reason"] == "manual"
    report = {
        k: v.value
        for k, v in first.asset_materializations_for_node("eval_report")[0].metadata.items()
    }
    assert report["test_examples"] == 6 and report["judge"].startswith("LLM judge not configured")
    carbon = {
        k: v.value
        for k, v in first.asset_materializations_for_node("emissions_report")[0].metadata.items()
    }
    assert carbon["kg_co2eq"] > 0 and carbon["country"] == "USA"
    evaluations = {e.asset_check_key.name: e.passed for e in first.get_asset_check_evaluations()}
    assert evaluations["within_carbon_budget"] is True

    registered = {
        k: v.value
        for k, v in first.asset_materializations_for_node("registered_model")[0].metadata.items()
    }
    assert registered["version"] == "1" and registered["alias"] == "staging"

    import mlflow

    registry = res["mlflow"].registry()
    client = registry.client
    mlflow.set_tracking_uri(registry.tracking_uri)  # this test's own fluent load_model call
    mlflow.set_registry_uri(registry.tracking_uri)
    mv = client.get_model_version_by_alias("health-query-olmo", "staging")
    run = client.get_run(mv.run_id)
    assert run.data.tags["reason"] == "manual" and run.data.tags["partitions"] == "2025-01"
    assert "eval_loss" in run.data.metrics and "kg_co2eq" in run.data.metrics
    assert len(client.get_metric_history(mv.run_id, "loss")) == 3
    loaded = mlflow.pyfunc.load_model("models:/health-query-olmo@staging")
    out = loaded.predict(
        [{"instruction": "Summarize my glucose day.", "input": "Mean 142 mg/dL."}],
        params={"max_new_tokens": 4},
    )
    assert len(out) == 1 and isinstance(out[0], str)

    # A person approves v1 (its gate ran with no production: recorded on the version).
    promote_recorded(
        res["mlflow"].registry(), "1", approved_by="dr.ops", reason="first model", force=True
    )
    assert str(registry.production_version().version) == "1"
    # The next training is compared with production on the same test set.
    second = dg.materialize(
        [training_dataset, *MODEL_ASSETS], resources=res, instance=instance, run_config=TRAIN_CONFIG
    )
    assert second.success
    meta = {
        k: v.value
        for k, v in second.asset_materializations_for_node("registered_model")[0].metadata.items()
    }
    assert meta["version"] == "2" and meta["compared_with_production"] == "1"
    decision = json.loads(client.get_model_version("health-query-olmo", "2").tags["gate.decision"])
    assert set(decision) >= {"passed", "reasons", "per_metric"}
