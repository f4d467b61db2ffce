"""The generation worker's queue: bounded, supervised, drained on shutdown.

One worker thread owns the model (engine.py hands it `run_batch`). This module keeps everything
that must hold whatever the model does:

- **Bounded.** At most `max_queue` requests wait; the next gets a 429 with `Retry-After` at once,
  so admitted requests keep their latency instead of everyone's growing with the load.
- **Local failures.** An exception out of a batch fails only the batch's unfinished requests (the
  engine retries rows alone before that: engine._run); the worker goes on.
- **Supervised.** A worker thread that dies anyway (a BaseException, a bug) is found by the
  supervisor within `supervise_s`: the requests it held get a 500, a new thread starts. A worker
  silent for `worker_stall_s` with work waiting is reported as stalled (/health answers 503,
  so an orchestrator restarts the process: a thread stuck in native code cannot be stopped).
- **Drained.** `close` refuses new work (503), lets what is queued finish for `drain_s`, then
  fails the rest with a 503 and stops.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from health_training.serving.errors import OpenAIError
from health_training.serving.generation import DecodingParams, Finished, StopScanner

log = logging.getLogger("health_training.serving")


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


class WorkQueue:
    def __init__(self, run_batch: Callable[[list[Any]], None], settings: Any, metrics: Any) -> None:
        self._run_batch, self.settings, self.metrics = run_batch, settings, metrics
        self._cond = threading.Condition()
        self._queue: deque[Any] = deque()
        self._commands: deque[tuple[Callable[[], None], Future]] = deque()
        self._current: list[Any] = []
        self._stopped = self._closing = False
        self.beat = time.monotonic()  # the worker's last sign of life
        self.restarts = 0
        self._halt = threading.Event()  # ends the supervisor at close
        self._thread = self._start_worker()
        self._supervisor = threading.Thread(
            target=self._supervise_loop, name="generation-supervisor", daemon=True
        )
        self._supervisor.start()

    def _start_worker(self) -> threading.Thread:
        thread = threading.Thread(target=self._work, name="generation-worker", daemon=True)
        thread.start()
        return thread

    # --- what callers do ------------------------------------------------------------------

    def check_room(self) -> None:
        """Raise the 429 (or 503) `submit` would, without queueing anything: a stream asks
        before its 200 goes out."""
        with self._cond:
            self._refuse_locked()

    def submit(self, job: Any) -> None:
        with self._cond:
            self._refuse_locked()
            self._queue.append(job)
            self.metrics.queue_depth.set(len(self._queue))
            self._cond.notify_all()

    def _refuse_locked(self) -> None:
        if self._closing:
            raise OpenAIError(503, "the server is shutting down", "server_error",
                              code="shutting_down")  # fmt: skip
        if len(self._queue) >= self.settings.max_queue:
            self.metrics.rejected.labels(reason="queue_full").inc()
            raise OpenAIError(
                429,
                f"the server is at capacity ({self.settings.max_queue} requests waiting); "
                f"retry in {self.settings.retry_after_s} s",
                "rate_limit_error",
                code="queue_full",
                headers={"Retry-After": str(self.settings.retry_after_s)},
            )

    def requeue_alone(self, jobs: list[Any]) -> None:
        """Put jobs back at the front, each to be decoded in a batch of its own."""
        with self._cond:
            for job in reversed(jobs):
                job.alone = True
                self._queue.appendleft(job)
            self._cond.notify_all()

    def command(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the worker between batches; raises what it raised."""
        done: Future = Future()
        with self._cond:
            self._commands.append((fn, done))
            self._cond.notify_all()
        done.result()

    def touch(self) -> None:
        self.beat = time.monotonic()

    def state(self) -> str:
        """ok, dead (the thread ended; the supervisor restarts it) or stalled."""
        if self._stopped:
            return "stopped"
        if not self._thread.is_alive():
            return "dead"
        busy = bool(self._queue or self._current)
        if busy and time.monotonic() - self.beat > self.settings.worker_stall_s:
            return "stalled"
        return "ok"

    # --- the worker -----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not (self._queue or self._commands or self._stopped):
                    self._cond.wait()
                if self._stopped:
                    return
                commands = list(self._commands)
                self._commands.clear()
            self.touch()
            for fn, done in commands:
                try:
                    fn()
                    done.set_result(None)
                except Exception as exc:  # handed to the caller of command()
                    done.set_exception(exc)
            batch = self._take_batch()
            if not batch:
                continue
            self._current = batch
            try:
                self._run_batch(batch)
            except Exception as exc:  # a bug outside the engine's own handling: fail the batch
                log.exception("a batch of %d failed outside the decoder", len(batch))
                fail_unfinished(batch, exc)
            # Not in a `finally`: after a BaseException the supervisor fails what was held.
            self._current = []
            self.touch()
            with self._cond:
                self._cond.notify_all()  # close() may be waiting for the queue to empty

    def _take_batch(self) -> list[Any]:
        with self._cond:
            if not self._queue:
                return []
            if getattr(self._queue[0], "alone", False):
                batch = [self._queue.popleft()]
            else:
                deadline = time.monotonic() + self.settings.batch_window_s
                while len(self._queue) < self.settings.max_batch and not self._commands:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                key = self._queue[0].key
                batch = [j for j in self._queue if j.key == key and not getattr(j, "alone", False)]
                batch = batch[: self.settings.max_batch]
                for job in batch:
                    self._queue.remove(job)
            self.metrics.queue_depth.set(len(self._queue))
        return [j for j in batch if not j.cancelled.is_set()]

    # --- supervision and shutdown -----------------------------------------------------------

    def supervise(self) -> bool:
        """Restart a dead worker; True when it did."""
        with self._cond:
            if self._stopped or self._thread.is_alive():
                return False
            held, self._current = self._current, []
            self._thread = self._start_worker()
            self.restarts += 1
        log.error("the generation worker died; restarted it (%d restarts)", self.restarts)
        self.metrics.worker_restarts.inc()
        fail_unfinished(held, RuntimeError("the generation worker died"))
        return True

    def _supervise_loop(self) -> None:
        while not self._halt.wait(self.settings.supervise_s):
            self.supervise()

    def close(self, drain_s: float) -> None:
        deadline = time.monotonic() + drain_s
        with self._cond:
            self._closing = True
            while (self._queue or self._current) and self._thread.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
            left_over = list(self._queue) + list(self._current)
            self._queue.clear()
            self._stopped = True
            self._cond.notify_all()
        self._halt.set()
        error = OpenAIError(503, "the server is shutting down", "server_error",
                            code="shutting_down")  # fmt: skip
        for job in left_over:
            job.cancelled.set()  # a row still decoding leaves at its next step
            job.fail(error)
        self._thread.join(timeout=max(1.0, deadline - time.monotonic()))


def fail_unfinished(jobs: list[Any], exc: BaseException) -> None:
    for job in jobs:
        if not job.done:
            job.fail(OpenAIError(
                500,
                f"generation failed (request {job.request_id}): {type(exc).__name__}",
                "server_error",
                code="generation_failed",
            ))  # fmt: skip
