"""The registry's jobs. Promotion and rollback (the UI's way to approve or revert; the CLI does
the same): a person moves `production` to an approved version, or back to the one it replaced,
and the registry records who, when and why. `evaluate_version`: a registered version scored
again on its dataset's frozen test split (ml/evaluation/version_evaluation.py); the model server's
`POST /admin/evaluate` starts it."""

import dagster as dg
from pydantic import Field

from health_training.constants import EVAL_BATCH_SIZE, EVALUATE_JOB
from health_training.data.dataset_repository import DatasetRepository
from health_training.ml.evaluation.version_evaluation import NoTrainingData, evaluate_version
from health_training.ml.registry.version_gate import now, promote_recorded
from health_training.resources import MlflowResource, Storage, TrainingResource


class PromoteConfig(dg.Config):
    version: str = Field(description="The registered version to promote.")
    reason: str = Field(description="Why (recorded on the version).")
    approved_by: str = Field(description="Who approves (recorded on the version).")
    force: bool = Field(default=False, description="Promote although the gate failed (recorded).")


class RollbackConfig(dg.Config):
    reason: str = Field(description="Why (recorded on both versions).")
    requested_by: str = Field(description="Who asks (recorded on both versions).")


class EvaluateVersionConfig(dg.Config):
    version: str = Field(description="The registered version to evaluate.")
    max_examples: int = Field(default=200, description="Test examples: an equal share per domain.")
    batch_size: int = Field(default=EVAL_BATCH_SIZE, description="Answers generated together.")
    requested_by: str = Field(default="", description="Who asked (recorded on the version).")


@dg.op(description="Move `production` to an approved version, recording who, when and why.")
def promote_version(context: dg.OpExecutionContext, config: PromoteConfig, mlflow: MlflowResource):
    promote_recorded(
        mlflow.registry(),
        config.version,
        approved_by=config.approved_by,
        reason=config.reason,
        force=config.force,
    )
    context.log.info(f"{mlflow.model_name} v{config.version} is now production")


@dg.op(description="Point `production` back at the version the current one replaced.")
def rollback_version(
    context: dg.OpExecutionContext, config: RollbackConfig, mlflow: MlflowResource
) -> None:
    restored = mlflow.registry().rollback(by=config.requested_by, reason=config.reason, now=now())
    context.log.info(f"{mlflow.model_name}: production restored to v{restored}")


@dg.op(description="Score a registered version on its dataset's frozen test split.")
def evaluate_registered_version(
    context: dg.OpExecutionContext,
    config: EvaluateVersionConfig,
    mlflow: MlflowResource,
    storage: Storage,
    training: TrainingResource,
) -> None:
    try:
        dataset, figures = evaluate_version(
            mlflow.registry(),
            config.version,
            lambda dataset: DatasetRepository(storage).split_rows(dataset, "test"),
            cache=training.runs_dir,
            models_dir=training.models_dir,
            max_examples=config.max_examples,
            batch_size=config.batch_size,
            requested_by=config.requested_by,
            dagster_run_id=context.run_id,
            log=context.log.info,
        )
    except NoTrainingData as exc:
        raise dg.Failure(str(exc)) from exc
    context.log.info(f"{mlflow.model_name} v{config.version} on {dataset}: {figures}")


@dg.job(description="Human-gated promotion: staging → production for the version in the config.")
def promote_model() -> None:
    promote_version()


@dg.job(description="Roll production back to the version it replaced.")
def rollback_model() -> None:
    rollback_version()


@dg.job(
    name=EVALUATE_JOB,
    description="Evaluate a registered version on the frozen test split (admin API).",
)
def evaluate_version_job() -> None:
    evaluate_registered_version()
