"""A registered version scored again on the frozen test split of the dataset version it was
trained on (its MLflow run's dataset tag), against its base, with the evaluation's metrics and
intervals (ml/evaluation/eval_run.py); the figures are recorded on the version as `evaluation.*` tags (who
asked, when, which run, on how many examples). The `evaluate_version` job runs it; the model
server's `POST /admin/evaluate` starts that job."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from health_training.constants import BASE_MODEL_RUN_TAG, DATASET_VERSION_RUN_TAG
from health_training.ml.registry.version_gate import now


class NoTrainingData(ValueError):
    """The version names no training data: no run, or a run without the dataset and base tags
    (registered outside registered_model)."""


def training_run_of(registry: Any, version: str) -> tuple[str, str]:
    """(dataset version, base model) the version's training run recorded."""
    mv = registry.version(version)
    if not mv.run_id:
        raise NoTrainingData(
            f"{registry.model_name} v{version} has no training run to name its data"
        )
    tags = registry.client.get_run(mv.run_id).data.tags
    dataset, base = tags.get(DATASET_VERSION_RUN_TAG), tags.get(BASE_MODEL_RUN_TAG)
    if not dataset or not base:
        raise NoTrainingData(
            f"{registry.model_name} v{version}: its run lacks the {DATASET_VERSION_RUN_TAG} or "
            f"{BASE_MODEL_RUN_TAG} tag (registered outside registered_model?)"
        )
    return dataset, base


def evaluate_version(
    registry: Any,
    version: str,
    test_rows_of: Callable[[str], Sequence[dict[str, Any]]],
    *,
    cache: Path,
    models_dir: Path,
    max_examples: int,
    batch_size: int,
    requested_by: str,
    dagster_run_id: str,
    log: Callable[[str], None],
) -> tuple[str, dict[str, float]]:
    """Score `version` on its dataset's test split (`test_rows_of(dataset version)`) and record
    the figures on it; returns (dataset version, overall figures)."""
    from health_training.ml.evaluation.eval_run import run_evaluation

    dataset, base = training_run_of(registry, version)
    adapter, _ = registry.download_adapter(version, cache / "registry-eval" / version)
    outcome = run_evaluation(
        base_name=base,
        adapter_dir=adapter,
        test_rows=test_rows_of(dataset),
        models_dir=models_dir,
        dataset_version=dataset,
        finetuned_label=f"{registry.model_name} v{version}",
        n_examples=max_examples,
        batch_size=batch_size,
        log=log,
    )
    overall = outcome.report.models["finetuned"]["overall"]
    figures = {k: round(v, 4) for k, v in overall.items() if isinstance(v, int | float)}
    registry.set_version_tags(
        version,
        {
            "evaluation.at": now(),
            "evaluation.by": requested_by or "unknown",
            "evaluation.dagster_run_id": dagster_run_id,
            "evaluation.dataset_version": dataset,
            "evaluation.examples": outcome.report.n_examples,
            "evaluation.metrics": json.dumps(figures),
        },
    )
    return dataset, figures
