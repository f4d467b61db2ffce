"""Operations and read-only views: /health and /metrics (open, for probes and Prometheus; they
hold no PHI), /emissions/training-history, /emissions/total-footprint and /training-data/stats
(an API key)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from health_training.serving import views
from health_training.serving.routes_openai import QueryCaller, services

router = APIRouter()


def _feedback_reachable(store: Any) -> tuple[bool, str | None]:
    try:
        store.max_id()
    except SQLAlchemyError as exc:
        return False, type(exc).__name__
    return True, None


@router.get("/health")
async def health(request: Request) -> Response:
    svc = services(request)
    pool = svc.pool
    default = pool.default()
    store_ok, store_error = await asyncio.to_thread(_feedback_reachable, svc.feedback_store)
    doc = {
        "status": "ok" if default and store_ok and not pool.registry_error else "degraded",
        "model": svc.settings.model_name,
        "model_id": default.served.model_id(svc.settings.model_name) if default else None,
        "version": default.served.label if default else None,
        "alias": default.alias if default else None,
        "base_model": pool.base().base_model if pool.base() else None,
        "aliases": {a: s.label for a, s in pool.aliases().items()},
        "loaded": sorted(s.label for s in pool.loaded()),
        "backend": svc.backend.name,
        "device": svc.backend.device(),
        "swaps": pool.swaps,
        "registry": {"reachable": pool.registry_error is None, "error": pool.registry_error},
        "feedback_store": {"reachable": store_ok, "error": store_error},
        "load_errors": dict(pool.load_errors),
        "access": "api keys" if not svc.keys.open else "loopback only, no keys",
        "grounding": svc.settings.grounding,
    }
    return JSONResponse(doc, status_code=200 if default else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(services(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/emissions/training-history")
async def training_history(request: Request, caller: QueryCaller) -> dict[str, Any]:
    registry = services(request).mlflow.registry()
    return {"runs": await asyncio.to_thread(views.training_history, registry, 200)}


@router.get("/emissions/total-footprint")
async def total_footprint(request: Request, caller: QueryCaller) -> dict[str, Any]:
    registry = services(request).mlflow.registry()
    history = await asyncio.to_thread(views.training_history, registry)
    return views.total_footprint(history)


@router.get("/training-data/stats")
async def training_data_stats(request: Request, caller: QueryCaller) -> dict[str, Any]:
    svc = services(request)
    default = svc.pool.default()
    served_dataset = None
    if default is not None and default.served.run_id:

        def tag() -> str | None:
            run = svc.mlflow.registry().client.get_run(default.served.run_id)
            return run.data.tags.get("dataset_manifest_hash")

        served_dataset = await asyncio.to_thread(tag)
    return await asyncio.to_thread(views.dataset_stats, svc.storage, served_dataset)
