"""Promotion and rollback as jobs (the UI's way to approve or revert; the CLI does the same):
a person moves `production` to an approved version, or back to the one it replaced, and the
registry records who, when and why."""

import dagster as dg
from pydantic import Field

from health_training.defs.registry.gate import now, recorded_decision
from health_training.resources import MlflowResource


class PromoteConfig(dg.Config):
    version: str = Field(description="The registered version to promote.")
    reason: str = Field(description="Why (recorded on the version).")
    approved_by: str = Field(description="Who approves (recorded on the version).")
    force: bool = Field(default=False, description="Promote although the gate failed (recorded).")


class RollbackConfig(dg.Config):
    reason: str = Field(description="Why (recorded on both versions).")
    requested_by: str = Field(description="Who asks (recorded on both versions).")


def promote_recorded(
    mlflow: MlflowResource, version: str, *, approved_by: str, reason: str, force: bool = False
) -> None:
    """Promote with the gate decision recorded on the version at registration."""
    registry = mlflow.registry()
    registry.promote(
        version,
        approved_by=approved_by,
        reason=reason,
        decision=recorded_decision(registry, version),
        now=now(),
        force=force,
    )


@dg.op(description="Move `production` to an approved version, recording who, when and why.")
def promote_version(context: dg.OpExecutionContext, config: PromoteConfig, mlflow: MlflowResource):
    promote_recorded(
        mlflow,
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


@dg.job(description="Human-gated promotion: staging → production for the version in the config.")
def promote_model() -> None:
    promote_version()


@dg.job(description="Roll production back to the version it replaced.")
def rollback_model() -> None:
    rollback_version()
