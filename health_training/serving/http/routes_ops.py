"""Operations and read-only views. `/health` answers anyone with its status only (`ok`,
`degraded`, `unavailable`; a 503 when nothing can answer: no base model yet, or a dead or
stalled generation worker), plus what is missing and the fix when there is no base model;
a key with `read_stats` also gets the details (versions, aliases, backend, device, the kinds of
registry and store errors, never their text, which can hold a tracking URI's password).
`/metrics` needs a `read_stats` key unless configured `open` (or `off`). The emissions and
dataset views need `read_stats` too."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from health_training.constants import DATASET_VERSION_RUN_TAG
from health_training.serving.http import views
from health_training.serving.http.api_errors import OpenAIError
from health_training.serving.http.routes_openai import StatsCaller, services

router = APIRouter()


def _feedback_reachable(store: Any) -> tuple[bool, str | None]:
    try:
        store.max_id()
    except SQLAlchemyError as exc:
        return False, type(exc).__name__
    return True, None


def _allowed(svc: Any, authorization: str | None, scope: str) -> bool:
    try:
        svc.keys.check(authorization, scope)
    except OpenAIError:
        return False
    return True


@router.get("/livez")
async def livez() -> Response:
    """Liveness: the process answers HTTP. /health says whether it can answer questions (503
    while no model is there yet); an orchestrator restarting on /health would crash-loop a
    server that is only waiting for `prepare-model`, so its liveness probe reads this."""
    return JSONResponse({"status": "alive"})


@router.get("/health")
async def health(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    svc = services(request)
    pool = svc.pool
    default = pool.default()
    worker_state = getattr(svc.backend, "worker_state", None)  # a stand-in backend may lack it
    worker = await asyncio.to_thread(worker_state) if worker_state else "ok"
    store_ok, store_error = await asyncio.to_thread(_feedback_reachable, svc.feedback_store)
    answering = default is not None and worker == "ok"
    status = "unavailable" if not answering else "ok"
    if answering and (not store_ok or pool.registry_error):
        status = "degraded"
    doc: dict[str, Any] = {"status": status}
    if default is None and pool.missing:  # says the fix, never a path
        doc["reason"] = pool.missing
    elif worker != "ok":
        doc["reason"] = f"the generation worker is {worker}"
    if _allowed(svc, authorization, "read_stats"):
        base = pool.base()
        doc |= {
            "model": svc.settings.model_name,
            "model_id": default.served.model_id(svc.settings.model_name) if default else None,
            "version": default.served.label if default else None,
            "alias": default.alias if default else None,
            "base_model": base.base_model.rstrip("/").rsplit("/", 1)[-1] if base else None,
            "aliases": {a: m.label for a, m in pool.aliases().items()},
            "loaded": sorted(m.label for m in pool.loaded()),
            "backend": svc.backend.name,
            "device": svc.backend.device(),
            "worker": worker,
            "swaps": pool.swaps,
            "registry": {
                "reachable": pool.registry_error is None,
                "error": pool.registry_error.split(":", 1)[0] if pool.registry_error else None,
            },
            "feedback_store": {"reachable": store_ok, "error": store_error},
            "load_errors": {a: ": ".join(e.split(": ")[:2]) for a, e in pool.load_errors.items()},
            "access": "api keys" if not svc.keys.open else "loopback only, no keys",
            "grounding": svc.settings.grounding,
        }
    return JSONResponse(doc, status_code=200 if answering else 503)


@router.get("/metrics")
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    svc = services(request)
    access = svc.settings.metrics_access
    if access == "off":
        raise OpenAIError(404, "metrics are off on this server", "not_found_error")
    if access == "key":
        svc.keys.check(authorization, "read_stats")
    return Response(svc.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/emissions/training-history")
async def training_history(request: Request, caller: StatsCaller) -> dict[str, Any]:
    registry = services(request).mlflow.registry()
    return {"runs": await asyncio.to_thread(views.training_history, registry, 200)}


@router.get("/emissions/total-footprint")
async def total_footprint(request: Request, caller: StatsCaller) -> dict[str, Any]:
    registry = services(request).mlflow.registry()
    history = await asyncio.to_thread(views.training_history, registry)
    return views.total_footprint(history)


@router.get("/training-data/stats")
async def training_data_stats(request: Request, caller: StatsCaller) -> dict[str, Any]:
    svc = services(request)
    default = svc.pool.default()
    served_dataset = None
    if default is not None and default.served.run_id:

        def tag() -> str | None:
            run = svc.mlflow.registry().client.get_run(default.served.run_id)
            return run.data.tags.get(DATASET_VERSION_RUN_TAG)

        served_dataset = await asyncio.to_thread(tag)
    return await asyncio.to_thread(views.dataset_stats, svc.storage, served_dataset)
