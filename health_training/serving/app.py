"""`create_app`: the FastAPI app with its services. The model loads in the app's lifespan, so
uvicorn reports "started" only once the pool can answer; it stops the alias watcher and the
generation worker on shutdown.

    app = create_app(settings, mlflow=MlflowResource(...), feedback_store=FeedbackStore(url),
                     pseudonymize=Pseudonymizer(key), storage=LocalStorage(root=...))
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from health_training.serving import routes_admin, routes_feedback, routes_openai, routes_ops
from health_training.serving.answering import Answerer
from health_training.serving.auth import KeyRing
from health_training.serving.cache import ResponseCache
from health_training.serving.errors import OpenAIError, install_error_handlers
from health_training.serving.jobs import DagsterJobs
from health_training.serving.metrics import ServingMetrics
from health_training.serving.pool import ModelPool
from health_training.serving.responses import ResponseLog
from health_training.serving.settings import ServingSettings

log = logging.getLogger("health_training.serving")


@dataclass
class Services:
    settings: ServingSettings
    mlflow: Any  # MlflowResource: .registry(), and what promote_recorded takes
    feedback_store: Any
    pseudonymize: Callable[[str], str]
    storage: Any
    backend: Any
    jobs: DagsterJobs | None
    keys: KeyRing = field(init=False)
    metrics: ServingMetrics = field(default_factory=ServingMetrics)
    pool: ModelPool = field(init=False)
    cache: ResponseCache = field(init=False)
    responses: ResponseLog = field(init=False)
    answerer: Answerer = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.keys = KeyRing(s.api_key_hashes, s.admin_key_hash)
        self.cache = ResponseCache(s.cache_entries, s.cache_ttl_s)
        self.responses = ResponseLog(s.responses_kept, s.responses_ttl_s)
        self.answerer = Answerer(self)


def _warm_phi_engine() -> None:
    from health_training.data.phi import ner

    try:
        ner.load()
    except ner.NerModelError as exc:  # feedback posts will say so; the server still answers
        log.warning("PHI engine not ready: %s", exc)


def make_backend(settings: ServingSettings, metrics: ServingMetrics) -> Any:
    if settings.backend == "upstream":
        from health_training.serving.upstream import UpstreamBackend

        return UpstreamBackend(settings, metrics)
    from health_training.serving.engine import InProcessEngine

    return InProcessEngine(settings, metrics)


class BodyLimit:
    """Refuses request bodies over the limit with an OpenAI-style 413, whether or not the
    client sent a Content-Length (chunked bodies are counted as they arrive)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        too_big = declared is not None and declared.isdigit() and int(declared) > self.limit
        messages, size = [], 0
        while not too_big:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            too_big = size > self.limit
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if too_big:
            error = OpenAIError(
                413,
                f"the request body is larger than {self.limit:,} bytes",
                code="request_too_large",
            )
            return await error.response()(scope, receive, send)
        replay = iter(messages)

        async def replayed() -> dict:
            return next(replay, None) or await receive()

        return await self.app(scope, replayed, send)


def create_app(
    settings: ServingSettings,
    *,
    mlflow: Any,
    feedback_store: Any,
    pseudonymize: Callable[[str], str],
    storage: Any,
    backend: Any = None,
    jobs: DagsterJobs | None = None,
) -> FastAPI:
    metrics = ServingMetrics()
    services = Services(
        settings=settings,
        mlflow=mlflow,
        feedback_store=feedback_store,
        pseudonymize=pseudonymize,
        storage=storage,
        backend=backend or make_backend(settings, metrics),
        jobs=jobs,
        metrics=metrics,
    )
    services.pool = ModelPool(mlflow.registry(), services.backend, settings, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The feedback store's PHI scrub loads a spaCy model on first use (seconds): load it
        # now, beside the model, so the first rating is not the one that waits.
        threading.Thread(target=_warm_phi_engine, name="phi-warm-up", daemon=True).start()
        await asyncio.to_thread(services.pool.start)
        default = services.pool.default()
        log.info(
            "serving %s (%s via %s) with the %s backend on %s",
            settings.model_name,
            default.served.model_id(settings.model_name) if default else "nothing",
            default.alias if default else "-",
            services.backend.name,
            services.backend.device(),
        )
        yield
        services.pool.stop()
        close = getattr(services.backend, "close", None)
        if close is not None:
            close()

    app = FastAPI(title="health_training model server", lifespan=lifespan)
    app.state.services = services
    install_error_handlers(app)
    # Added first, so the request counter (added next, outermost) also counts its 413s.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)

    @app.middleware("http")
    async def count_requests(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels(route=path, status=str(response.status_code)).inc()
        return response

    for module in (routes_openai, routes_feedback, routes_admin, routes_ops):
        app.include_router(module.router)
    return app
