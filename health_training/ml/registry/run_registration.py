"""Log one training run to MLflow, register its adapter, and gate the new version.

`register_and_gate` is what `registered_model` calls: params, step metrics, the figures of the
run's evaluation and emissions, the reports as artifacts, and the pyfunc that holds the adapter
and names its base (`log_and_register`), then the promotion gate against production
(version_gate.py). The run's hand-off metadata (`run`: identity, dataset version, base, config)
names what is registered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from health_training.constants import BASE_MODEL_RUN_TAG, DATASET_VERSION_RUN_TAG, REASON_RUN_TAG
from health_training.ml.evaluation.answer_and_compare import LOSS_DEFINITION
from health_training.ml.registry.promotion_gate import GateDecision
from health_training.ml.registry.rated_prompts import RatedPrompt
from health_training.ml.registry.version_gate import challenger_metrics, gate_new_version

STEP_METRICS = ("loss", "eval_loss", "learning_rate", "grad_norm")


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value
    return out


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


@dataclass(frozen=True)
class Registration:
    run_id: str  # the MLflow run
    version: str  # the registered version (alias staging, or production in auto mode)
    decision: GateDecision
    compared_with: str | None  # the production version it was compared with


def register_and_gate(
    registry: Any,
    run_dir: Path,
    run: dict[str, Any],
    *,
    dagster_run_id: str,
    emissions: dict[str, Any],
    test_rows: dict[str, dict[str, Any]],
    freeform_rows: dict[str, dict[str, Any]] | None,
    rated_prompts: Sequence[RatedPrompt],
    models_dir: Path,
    cache: Path,
    log: Callable[[str], None],
) -> Registration:
    """Log and register the run in `run_dir` (its adapter, eval/ and emissions/ fetched), then
    gate the new version on the same test rows, free-form rows (by content key) and rated
    prompts. A local base (one prepared here, not on the hub) is bundled into the model."""
    from health_training.ml.lm.models import resolve_base_model

    spec = resolve_base_model(str(run["base_name"]), models_dir)
    run_id, version, eval_doc, answers = log_and_register(
        registry,
        run_dir,
        run,
        run_tags(run, dagster_run_id),
        {k: emissions[k] for k in ("kg_co2eq", "energy_kwh")},
        base_dir=spec.source if spec.local else None,
    )
    decision, compared_with = gate_new_version(
        registry,
        version,
        eval_doc,
        answers,
        test_rows,
        base_name=str(run["base_name"]),
        models_dir=models_dir,
        cache=cache,
        emissions_kg=float(emissions["kg_co2eq"]),
        log=log,
        rated_prompts=rated_prompts,
        challenger_adapter=run_dir / "adapter",
        freeform_rows=freeform_rows,
    )
    return Registration(run_id, version, decision, compared_with)
