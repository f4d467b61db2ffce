"""OpenTelemetry traces of the server: a span per HTTP request (with its request id), and under
an answer's span the worker's `queue_wait`, the `batch` that decoded it (linked to every request
it served: a batch has many parents) with its `decode`, and the number `guard`. An admin
request that starts a Dagster run records the run id on its span, and the run carries the trace
id as a tag, so either leads to the other.

Exported over OTLP/HTTP when `otlp_endpoint` is set (configs/serving.yaml or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); otherwise there is no tracer and no span costs anything.
Tests hand `create_app` a TracerProvider with an in-memory exporter instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

TRACER_NAME = "health_training.serving"
SERVICE_NAME = "health-training-serve"


def make_tracer(endpoint: str, provider: Any = None) -> Any:
    """A tracer, or None when tracing is off (no endpoint and no provider)."""
    if provider is None and not endpoint:
        return None
    if provider is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        # Our own provider, not the global one: several servers in one process (tests) and
        # libraries that set a global provider never mix their spans with ours.
        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer(TRACER_NAME)


def start_span(tracer: Any, name: str, parent: Any = None, **attributes: Any) -> Any:
    """A started span (the caller ends it), a child of `parent` when given; None without a
    tracer."""
    if tracer is None:
        return None
    from opentelemetry import trace

    context = trace.set_span_in_context(parent) if parent is not None else None
    return tracer.start_span(name, context=context, attributes=attributes)


def child(tracer: Any, name: str, parent: Any, **attributes: Any) -> Any:
    """A context manager for a child span of `parent` (nothing without a tracer or parent)."""
    if tracer is None or parent is None:
        return nullcontext()
    from opentelemetry import trace

    context = trace.set_span_in_context(parent)
    return tracer.start_as_current_span(name, context=context, attributes=attributes)


def trace_id(span: Any) -> str | None:
    """The span's trace id in the usual 32-hex form, for run tags and logs."""
    if span is None:
        return None
    ctx = span.get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else None


def record_span(
    tracer: Any, name: str, parent: Any, *, start: int, end: int, **attributes: Any
) -> None:
    """A span that already happened (e.g. a queue wait, known once it ends), times in ns."""
    if tracer is None or parent is None:
        return
    from opentelemetry import trace

    context = trace.set_span_in_context(parent)
    span = tracer.start_span(name, context=context, start_time=start, attributes=attributes)
    span.end(end_time=end)


@contextmanager
def batch_spans(tracer: Any, parents: list[Any]) -> Iterator[None]:
    """`batch`, linked to every request it decodes (a batch has many parents), with `decode`
    inside it; nothing without a tracer."""
    if tracer is None:
        yield
        return
    from opentelemetry import trace

    links = [trace.Link(p.get_span_context()) for p in parents if p is not None]
    attributes = {"batch.size": len(parents)}
    with (
        tracer.start_as_current_span("batch", links=links, attributes=attributes),
        tracer.start_as_current_span("decode"),
    ):
        yield
