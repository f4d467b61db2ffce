"""`create_app`: the FastAPI app with its services. The model loads in the app's lifespan, so
uvicorn reports "started" only once the pool can answer (or, with no base model on disk, once
/health can say so); it stops the alias watcher and drains the generation worker on shutdown.
Every request gets a request id (`X-Request-Id`) and, when tracing is on, a span; the keyless
loopback server answers only requests addressed to a loopback host name (DNS rebinding).

    app = create_app(settings, mlflow=MlflowResource(...), feedback_store=FeedbackStore(url),
                     pseudonymize=Pseudonymizer(key), storage=LocalStorage(root=...))
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.middleware.trustedhost import TrustedHostMiddleware

from health_training.serving.answering import Answerer
from health_training.serving.backends.adapter_pool import ModelPool
from health_training.serving.dagster_runs import DagsterJobs
from health_training.serving.http import (
    routes_admin,
    routes_feedback,
    routes_openai,
    routes_ops,
    routes_review,
)
from health_training.serving.http.api_errors import OpenAIError, install_error_handlers
from health_training.serving.http.auth import KeyRing
from health_training.serving.http.prometheus import ServingMetrics
from health_training.serving.http.quotas import Quotas
from health_training.serving.http.tracing import make_tracer, start_span
from health_training.serving.response_cache import ResponseCache
from health_training.serving.response_log import ResponseLog
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
    tracer: Any = None
    quotas: Quotas = field(init=False)
    pool: ModelPool = field(init=False)
    cache: ResponseCache = field(init=False)
    responses: ResponseLog = field(init=False)
    answerer: Answerer = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.keys = KeyRing(s.keys, s.key_secret)
        self.quotas = Quotas(s, self.metrics)
        self.metrics.queue_bound.set(s.max_queue)
        self.metrics.batch_bound.set(s.max_batch)
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
        from health_training.serving.backends.upstream import UpstreamBackend

        return UpstreamBackend(settings, metrics)
    from health_training.serving.backends.inprocess import InProcessEngine

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
    tracer_provider: Any = None,
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
        tracer=make_tracer(settings.otlp_endpoint, tracer_provider),
    )
    services.backend.tracer = services.tracer
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
        if services.pool.missing:
            log.warning("%s", services.pool.missing)
        yield
        services.pool.stop()
        close = getattr(services.backend, "close", None)
        if close is not None:  # drains the queue (shutdown_drain_s) off the event loop
            await asyncio.to_thread(close)

    docs = {} if settings.docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="health_training model server", lifespan=lifespan, **docs)
    app.state.services = services
    install_error_handlers(app)
    # Added first, so the request counter (added next) also counts its 413s.
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)

    @app.middleware("http")
    async def request_context(request: Any, call_next: Any) -> Any:
        request.state.request_id = f"req-{secrets.token_hex(12)}"
        request.state.span = start_span(
            services.tracer, f"{request.method} {request.url.path}",
            **{"request.id": request.state.request_id, "http.method": request.method},
        )  # fmt: skip
        try:
            response = await call_next(request)
        finally:
            if request.state.span is not None:
                request.state.span.end()
        # An answer names itself by its response id; everything else by the request id.
        response.headers.setdefault("X-Request-Id", request.state.request_id)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels(route=path, status=str(response.status_code)).inc()
        return response

    if not settings.keys_required:
        # Outermost: a page on another site that rebinds its name to 127.0.0.1 sends its own
        # Host header, and is refused before anything else runs.
        hosts = ["127.0.0.1", "localhost", "::1", "[::1]", settings.host]
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=sorted(set(hosts)))

    for module in (routes_openai, routes_feedback, routes_admin, routes_review, routes_ops):
        app.include_router(module.router)
    return app
