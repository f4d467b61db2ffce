"""Admin endpoints (the admin key only): start training and evaluation runs, follow and cancel
them, promote and roll back. Promotion and rollback go through the same code as the CLI and the
Dagster jobs (defs/registry/jobs.promote_recorded, Registry.rollback), so the registry records
who, when and why; the server then follows the moved alias at once.

The admin key's id is the identity: a name sent as `approved_by` / `requested_by` is kept only as
a note after it (`admin-key:k_3f... (note: Dr A)`), so nobody can put a forged name first. Every
action writes one audit line (audit.py). Job routes accept only runs of the project's own jobs
(train_and_register, evaluate_version): any other run id is a 404."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from health_training.constants import EVALUATE_JOB, PRODUCTION, TRAIN_JOB
from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.audit import audit
from health_training.serving.http.request_bodies import (
    EvaluateRequest,
    PromoteRequest,
    RollbackRequest,
    TrainRequest,
)
from health_training.serving.http.routes_openai import AdminCaller, services
from health_training.serving.http.tracing import trace_id

router = APIRouter(prefix="/admin")


def who(named: str | None, caller: Any) -> str:
    key = f"admin-key:{caller.key_id}"
    return f"{key} (note: {named})" if named else key


def _jobs(request: Request) -> Any:
    jobs = services(request).jobs
    if jobs is None:
        raise OpenAIError(503, "no Dagster webserver is configured", "server_error")
    return jobs


@router.post("/train")
async def train(body: TrainRequest, request: Request, caller: AdminCaller) -> dict[str, Any]:
    by = who(body.requested_by, caller)
    span = getattr(request.state, "span", None)
    run_id = await asyncio.to_thread(_jobs(request).launch_training, by, trace_id(span))
    if span is not None:  # the trace names the run it started; the run's tag names the trace
        span.set_attribute("dagster.run_id", run_id)
    audit(request, caller, "train", TRAIN_JOB, run_id=run_id, note=body.requested_by)
    return {"run_id": run_id, "job": TRAIN_JOB, "reason": "manual", "requested_by": by}


@router.post("/evaluate")
async def evaluate(body: EvaluateRequest, request: Request, caller: AdminCaller) -> dict:
    by = who(None, caller)
    await asyncio.to_thread(_version_exists, request, body.version)
    run_id = await asyncio.to_thread(
        _jobs(request).launch_evaluation, body.version, body.max_examples, by
    )
    audit(request, caller, "evaluate", f"version {body.version}", run_id=run_id)
    return {"run_id": run_id, "job": EVALUATE_JOB, "version": body.version}


@router.get("/jobs")
async def list_jobs(
    request: Request, caller: AdminCaller, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    return {"runs": await asyncio.to_thread(_jobs(request).list_runs, limit)}


@router.get("/jobs/{run_id}")
async def job_status(run_id: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    run = await asyncio.to_thread(_jobs(request).own_run, run_id)
    return {"run_id": run_id, "job": run["job"], "status": run["status"]}


@router.post("/jobs/{run_id}/cancel")
async def cancel_job(run_id: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    jobs = _jobs(request)
    run = await asyncio.to_thread(jobs.own_run, run_id)
    await asyncio.to_thread(jobs.cancel, run_id)
    audit(request, caller, "cancel", f"run {run_id}", job=run["job"], status=run["status"])
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
    from health_training.ml.registry.version_gate import promote_recorded

    svc = services(request)
    by = who(body.approved_by, caller)
    await asyncio.to_thread(_version_exists, request, body.version)
    before = svc.pool.aliases().get(PRODUCTION)

    def run() -> dict[str, Any]:
        promote_recorded(svc.mlflow.registry(), body.version, approved_by=by, reason=body.reason,
                         force=body.force)  # fmt: skip
        return _after_move(request)

    try:
        moved = await asyncio.to_thread(run)
    except ValueError as exc:  # the gate failed and force was not given
        raise OpenAIError(409, str(exc), code="gate_failed") from None
    audit(request, caller, "promote", f"version {body.version}", reason=body.reason,
          production=[before.label if before else None, body.version], force=body.force,
          note=body.approved_by)  # fmt: skip
    return {PRODUCTION: body.version, "approved_by": by, **moved}


@router.post("/rollback")
async def rollback(body: RollbackRequest, request: Request, caller: AdminCaller) -> dict:
    from health_training.ml.registry.version_gate import now

    svc = services(request)
    by = who(body.requested_by, caller)
    before = svc.pool.aliases().get(PRODUCTION)

    def run() -> tuple[str, dict[str, Any]]:
        restored = svc.mlflow.registry().rollback(by=by, reason=body.reason, now=now())
        return restored, _after_move(request)

    try:
        restored, moved = await asyncio.to_thread(run)
    except ValueError as exc:  # nothing to roll back to
        raise OpenAIError(409, str(exc), code="nothing_to_roll_back") from None
    audit(request, caller, "rollback", f"version {restored}", reason=body.reason,
          production=[before.label if before else None, restored], note=body.requested_by)  # fmt: skip
    return {PRODUCTION: restored, "requested_by": by, **moved}
