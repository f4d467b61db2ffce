"""A request as the generation worker holds it (`Job`), and how a batch's unfinished requests
fail together (`fail_unfinished`). work_queue.py queues jobs; inprocess.py decodes them."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from health_training.serving.backends.generation import DecodingParams, Finished, StopScanner
from health_training.serving.http.api_errors import OpenAIError


@dataclass(eq=False)
class Job:
    """One request for the worker: what to decode, where its tokens go, and its state."""

    key: str
    prompt_ids: list[int]
    decoding: DecodingParams
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue
    request_id: str = "-"
    cancelled: threading.Event = field(default_factory=threading.Event)
    tokens: list[int] = field(default_factory=list)
    allowed: Any = None  # grounding.AllowedNumbers when decoded under the number constraint
    required: tuple = ()  # line_coverage.Required: values stated before EOS is allowed
    gate: Any = None  # line_coverage.EosGate, kept across a retry (its count goes in Finished)
    scanner: StopScanner | None = None  # kept across a retry: what was sent stays sent
    alone: bool = False  # decode in a batch of its own (a retry after a failed batch)
    done: bool = False  # Finished or an error was sent
    queued_at: int = field(default_factory=time.time_ns)
    span: Any = None  # the request's tracing span, parent of the worker's spans

    def send(self, item: object) -> None:
        if isinstance(item, Finished | Exception):
            self.done = True
        self.loop.call_soon_threadsafe(self.events.put_nowait, item)

    def fail(self, error: Exception) -> None:
        if not self.done:
            self.send(error)


def fail_unfinished(jobs: list[Any], exc: BaseException) -> None:
    for job in jobs:
        if not job.done:
            job.fail(OpenAIError(
                500,
                f"generation failed (request {job.request_id}): {type(exc).__name__}",
                "server_error",
                code="generation_failed",
            ))  # fmt: skip
