"""Admin endpoints (the admin key only): start training and evaluation runs, follow and cancel
them, promote and roll back. Promotion and rollback go through the same code as the CLI and the
Dagster jobs (defs/registry/jobs.promote_recorded, Registry.rollback), so the registry records
who, when and why; the server then follows the moved alias at once."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from health_training.serving.errors import OpenAIError
from health_training.serving.routes_openai import AdminCaller, services
from health_training.serving.schemas import (
    EvaluateRequest,
    PromoteRequest,
    RollbackRequest,
    TrainRequest,
)

router = APIRouter(prefix="/admin")


def _who(named: str | None, caller: Any) -> str:
    key = f"admin-key:{caller.key_id}"
    return f"{named} ({key})" if named else key


def _jobs(request: Request) -> Any:
    jobs = services(request).jobs
    if jobs is None:
        raise OpenAIError(503, "no Dagster webserver is configured", "server_error")
    return jobs


@router.post("/train")
async def train(body: TrainRequest, request: Request, caller: AdminCaller) -> dict[str, Any]:
    who = _who(body.requested_by, caller)
    run_id = await asyncio.to_thread(_jobs(request).launch_training, who)
    return {"run_id": run_id, "job": "train_and_register", "reason": "manual", "requested_by": who}


@router.post("/evaluate")
async def evaluate(body: EvaluateRequest, request: Request, caller: AdminCaller) -> dict:
    who = _who(None, caller)
    await asyncio.to_thread(_version_exists, request, body.version)
    run_id = await asyncio.to_thread(
        _jobs(request).launch_evaluation, body.version, body.max_examples, who
    )
    return {"run_id": run_id, "job": "evaluate_version", "version": body.version}


@router.get("/jobs")
async def list_jobs(
    request: Request, caller: AdminCaller, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    return {"runs": await asyncio.to_thread(_jobs(request).list_runs, limit)}


@router.get("/jobs/{run_id}")
async def job_status(run_id: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    return {"run_id": run_id, "status": await asyncio.to_thread(_jobs(request).status, run_id)}


@router.post("/jobs/{run_id}/cancel")
async def cancel_job(run_id: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    await asyncio.to_thread(_jobs(request).cancel, run_id)
    return {"run_id": run_id, "cancel_requested": True}


def _version_exists(request: Request, version: str) -> None:
    from mlflow.exceptions import MlflowException

    svc = services(request)
    try:
        svc.mlflow.registry().version(version)
    except MlflowException:
        raise OpenAIError(
            404,
            f"{svc.settings.model_name} has no version {version}",
            "not_found_error",
            param="version",
            code="version_not_found",
        ) from None


def _after_move(request: Request) -> dict[str, Any]:
    moved = services(request).pool.refresh()  # follow now rather than at the next poll
    default = services(request).pool.default()
    return {
        "moved": moved,
        "serving": {"version": default.served.label, "alias": default.alias} if default else None,
    }


@router.post("/promote")
async def promote(body: PromoteRequest, request: Request, caller: AdminCaller) -> dict:
    from health_training.defs.registry.jobs import promote_recorded

    svc = services(request)
    who = _who(body.approved_by, caller)
    await asyncio.to_thread(_version_exists, request, body.version)

    def run() -> dict[str, Any]:
        promote_recorded(svc.mlflow, body.version, approved_by=who, reason=body.reason,
                         force=body.force)  # fmt: skip
        return _after_move(request)

    try:
        moved = await asyncio.to_thread(run)
    except ValueError as exc:  # the gate failed and force was not given
        raise OpenAIError(409, str(exc), code="gate_failed") from None
    return {"production": body.version, "approved_by": who, **moved}


@router.post("/rollback")
async def rollback(body: RollbackRequest, request: Request, caller: AdminCaller) -> dict:
    from health_training.defs.registry.gate import now

    svc = services(request)
    who = _who(body.requested_by, caller)

    def run() -> tuple[str, dict[str, Any]]:
        restored = svc.mlflow.registry().rollback(by=who, reason=body.reason, now=now())
        return restored, _after_move(request)

    try:
        restored, moved = await asyncio.to_thread(run)
    except ValueError as exc:  # nothing to roll back to
        raise OpenAIError(409, str(exc), code="nothing_to_roll_back") from None
    return {"production": restored, "requested_by": who, **moved}
