"""`evaluate_version`: a registered version scored again, as a Dagster run, on the frozen test
split of the dataset version it was trained on (its MLflow run's `dataset_manifest_hash` tag),
against its base, with the evaluation's metrics and intervals (ml/eval_run.py). The model
server's `POST /admin/evaluate` starts it; the figures are recorded on the version as
`evaluation.*` tags (who asked, when, which run, on how many examples)."""

import json

import dagster as dg
from pydantic import Field

from health_training.constants import BASE_MODEL_RUN_TAG, DATASET_VERSION_RUN_TAG
from health_training.defs.registry.gate import now
from health_training.resources import MlflowResource, Storage, TrainingResource


class EvaluateVersionConfig(dg.Config):
    version: str = Field(description="The registered version to evaluate.")
    max_examples: int = Field(default=200, description="Test examples: an equal share per domain.")
    batch_size: int = Field(default=16, description="Answers generated together.")
    requested_by: str = Field(default="", description="Who asked (recorded on the version).")


@dg.op(description="Score a registered version on its dataset's frozen test split.")
def evaluate_registered_version(
    context: dg.OpExecutionContext,
    config: EvaluateVersionConfig,
    mlflow: MlflowResource,
    storage: Storage,
    training: TrainingResource,
) -> None:
    from health_training.data.dataset_repository import DatasetRepository
    from health_training.ml.eval_run import run_evaluation

    registry = mlflow.registry()
    mv = registry.version(config.version)
    if not mv.run_id:
        raise dg.Failure(
            f"{mlflow.model_name} v{config.version} has no training run to name its data"
        )
    tags = registry.client.get_run(mv.run_id).data.tags
    dataset, base = tags.get(DATASET_VERSION_RUN_TAG), tags.get(BASE_MODEL_RUN_TAG)
    if not dataset or not base:
        raise dg.Failure(
            f"{mlflow.model_name} v{config.version}: its run lacks the dataset_manifest_hash or "
            "base_model tag (registered outside registered_model?)"
        )
    folder = training.runs_dir / "registry-eval" / config.version
    adapter, _ = registry.download_adapter(config.version, folder)
    outcome = run_evaluation(
        base_name=base,
        adapter_dir=adapter,
        test_rows=DatasetRepository(storage).split_rows(dataset, "test"),
        models_dir=training.models_dir,
        dataset_version=dataset,
        finetuned_label=f"{mlflow.model_name} v{config.version}",
        n_examples=config.max_examples,
        batch_size=config.batch_size,
        log=context.log.info,
    )
    overall = outcome.report.models["finetuned"]["overall"]
    figures = {k: round(v, 4) for k, v in overall.items() if isinstance(v, int | float)}
    registry.set_version_tags(
        config.version,
        {
            "evaluation.at": now(),
            "evaluation.by": config.requested_by or "unknown",
            "evaluation.dagster_run_id": context.run_id,
            "evaluation.dataset_version": dataset,
            "evaluation.examples": outcome.report.n_examples,
            "evaluation.metrics": json.dumps(figures),
        },
    )
    context.log.info(f"{mlflow.model_name} v{config.version} on {dataset}: {figures}")


@dg.job(description="Evaluate a registered version on the frozen test split (admin API).")
def evaluate_version() -> None:
    evaluate_registered_version()
