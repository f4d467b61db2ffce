"""Log one training run to MLflow and register its adapter (the first half of
`registered_model`): params, step metrics, the figures of its evaluation and emissions, the
reports as artifacts, and the pyfunc that holds the adapter and names its base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from health_training.constants import BASE_MODEL_RUN_TAG, DATASET_VERSION_RUN_TAG, REASON_RUN_TAG
from health_training.ml.evaluation import LOSS_DEFINITION

STEP_METRICS = ("loss", "eval_loss", "learning_rate", "grad_norm")


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value
    return out


def challenger_metrics(eval_doc: dict[str, Any], role: str = "finetuned") -> dict[str, float]:
    """The gate's metric names (ml/metrics overall, the response-token loss included)."""
    model = eval_doc["models"][role]
    overall = {k: v for k, v in model["overall"].items() if isinstance(v, int | float)}
    return {**{k: model[k] for k in ("eval_loss", "perplexity") if k in model}, **overall}


def run_tags(adapter: dict[str, Any], dagster_run_id: str) -> dict[str, str]:
    return {
        "dagster_run_id": dagster_run_id,
        "training_dagster_run_id": str(adapter["dagster_run_id"]),
        DATASET_VERSION_RUN_TAG: str(adapter["dataset_version"]),
        "partitions": str(adapter.get("months", "")),
        BASE_MODEL_RUN_TAG: str(adapter["base_model"]),
        "base_revision": str(adapter.get("base_revision") or ""),
        "run_identity": str(adapter["run_identity"]),
        # the rated answers behind a preference-tuned adapter ("" when no preference stage ran)
        "preference_data_version": str(adapter.get("preference_data_version") or ""),
        REASON_RUN_TAG: str(adapter["reason"]),
        "profile": str(adapter["profile"]),
        "loss_definition": LOSS_DEFINITION,
    }


def log_and_register(
    registry: Any,
    run_dir: Path,
    adapter: dict[str, Any],
    tags: dict[str, str],
    emissions: dict[str, Any],
    *,
    base_dir: Path | None,
) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """(MLflow run id, registered version, eval report doc, its decoding answers)."""
    result = json.loads((run_dir / "train_result.json").read_text())
    eval_doc = json.loads((run_dir / "eval" / "eval_report.json").read_text())
    answers = json.loads((run_dir / "eval" / "answers.json").read_text())
    params = {k: v for k, v in _flat("", adapter["config"], {}).items() if v is not None}
    run_id = registry.start_training_run(
        params=params,
        tags=tags,
        run_name=f"{adapter['profile']}-{str(adapter['run_identity'])[:8]}",
    )
    for entry in result["log_history"]:
        step = {k: v for k, v in entry.items() if k in STEP_METRICS}
        if step:
            registry.log_step_metrics(run_id, step, int(entry["step"]))
    final = {
        **challenger_metrics(eval_doc),
        **{f"base_{k}": v for k, v in challenger_metrics(eval_doc, "base").items()},
        "kg_co2eq": emissions["kg_co2eq"],
        "energy_kwh": emissions["energy_kwh"],
        "tokens_per_second": result["tokens_per_second"],
        "trainable_params": result["trainable_params"],
        "test_examples": eval_doc["n_examples"],
    }
    registry.log_step_metrics(
        run_id, {k: float(v) for k, v in final.items() if v is not None}, result["steps"]
    )
    files = [run_dir / n for n in ("eval", "emissions", "loss_curve.png", "train_result.json")]
    registry.log_artifacts(run_id, [p for p in files if p.exists()])
    model_uri = registry.log_adapter_model(
        run_id,
        run_dir / "adapter",
        base_model=str(adapter["base_model"]),
        base_revision=str(adapter.get("base_revision") or "") or None,
        base_dir=base_dir,
        bundle_base=base_dir is not None,
        tokenizer_dir=run_dir / "adapter",
        # Served answers get the evaluation's length cap (references' p99 + margin).
        max_new_tokens=answers["settings_doc"]["max_new_tokens"],
    )
    registry.finish_run(run_id)
    return run_id, registry.register(model_uri, tags=tags), eval_doc, answers
