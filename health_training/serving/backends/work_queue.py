"""The generation worker's queue: bounded, supervised, drained on shutdown.

One worker thread owns the model (inprocess.py hands it `run_batch`). This module keeps everything
that must hold whatever the model does:

- **Bounded.** While the model is busy (a batch decoding, an adapter loading) at most
  `max_queue` requests wait for it; while it is free, a batch of up to `max_batch` forms (within
  `batch_window_s`) and `max_queue` more may wait behind it. The next request gets a 429 at once,
  with `Retry-After` (and `retry-after-ms`, which the openai client reads) saying when the running
  batch should end (its expected length: an average of the last batches), never less than
  `retry_after_s`. `max_queue` 0 is latency-first: an admitted request never waits for a batch
  it is not in, so it is answered in about one batch's time (configs/serving.yaml's profiles).
  A request is refused at once or not at all: its second decode (grounding's regenerate) is
  never refused.
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

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from health_training.serving.backends.queued_job import fail_unfinished
from health_training.serving.http.api_errors import OpenAIError

log = logging.getLogger("health_training.serving")

# Request ids remembered as admitted: far more than can be in flight, so a request's second
# decode still finds its id (ids are the server's own: a client cannot claim one).
ADMITTED_KEPT = 4096


class WorkQueue:
    def __init__(
        self,
        run_batch: Callable[[list[Any]], None],
        settings: Any,
        metrics: Any,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run_batch, self.settings, self.metrics = run_batch, settings, metrics
        self.clock = clock  # for the Retry-After estimate (tests pass their own)
        self._cond = threading.Condition()
        self._queue: deque[Any] = deque()
        self._commands: deque[tuple[Callable[[], None], Future]] = deque()
        self._current: list[Any] = []
        self._busy = False  # a batch or a command holds the model: no batch can form now
        self._busy_since = clock()
        self._batch_s: float | None = None  # how long a batch takes (moving average)
        self._admitted: OrderedDict[str, None] = OrderedDict()  # recent request ids
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
        """Queue `job`, or raise the 429 (503 when closing). A request decoded a second time
        (grounding's regenerate: the same request id) was admitted already: its retry is never
        refused, and goes first, so a request is refused at once or not at all."""
        with self._cond:
            request_id = getattr(job, "request_id", "-")
            if request_id != "-" and request_id in self._admitted:
                if self._closing:
                    self._refuse_locked()
                self._queue.appendleft(job)
            else:
                self._refuse_locked()
                self._queue.append(job)
                if request_id != "-":
                    self._admitted[request_id] = None
                    while len(self._admitted) > ADMITTED_KEPT:
                        self._admitted.popitem(last=False)
            self.metrics.queue_depth.set(len(self._queue))
            self._cond.notify_all()

    def _refuse_locked(self) -> None:
        if self._closing:
            raise OpenAIError(503, "the server is shutting down", "server_error",
                              code="shutting_down")  # fmt: skip
        s = self.settings
        # A batch whose every row has been answered holds the model no longer: its clients may
        # ask again before the worker gets round to marking the model free.
        finished = bool(self._current) and all(j.done for j in self._current)
        room = s.max_queue if self._busy and not finished else s.max_batch + s.max_queue
        if len(self._queue) >= room:
            self.metrics.rejected.labels(reason="queue_full").inc()
            wait = self._retry_after_locked()
            held = "decoding a batch" if self._busy else "forming a batch"
            raise OpenAIError(
                429,
                f"the server is at capacity ({held}, {len(self._queue)} requests waiting, at "
                f"most {s.max_queue} wait while it decodes); retry in {wait:.1f} s",
                "rate_limit_error",
                code="queue_full",
                headers={"Retry-After": str(math.ceil(wait)),
                         "retry-after-ms": str(math.ceil(wait * 1000))},
            )  # fmt: skip

    def _retry_after_locked(self) -> float:
        """When there should be room again: the end of the running batch (of the one forming
        now, when it is full), as far as the last batches tell; never sooner than
        `retry_after_s` (a batch that overran), nor later than a minute (clients would not
        wait). Clients refused during one batch all come back at its end, so the next batch
        forms full instead of one by one."""
        floor = float(self.settings.retry_after_s)
        if self._batch_s is None:
            return floor
        left = self._batch_s
        if self._busy:
            left -= self.clock() - self._busy_since
        return min(60.0, max(floor, left))

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

    @property
    def busy(self) -> bool:
        """A batch or a command holds the model: no batch can form now."""
        return self._busy

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
                if commands:
                    self._set_busy_locked(True)
            self.touch()
            for fn, done in commands:
                try:
                    fn()
                    done.set_result(None)
                except Exception as exc:  # handed to the caller of command()
                    done.set_exception(exc)
            if commands:
                with self._cond:
                    self._set_busy_locked(False)  # requests that were refused may form a batch
            batch = self._take_batch()
            if not batch:
                continue
            started = self.clock()
            try:
                self._run_batch(batch)
            except Exception as exc:  # a bug outside the engine's own handling: fail the batch
                log.exception("a batch of %d failed outside the decoder", len(batch))
                fail_unfinished(batch, exc)
            # Not in a `finally`: after a BaseException the supervisor fails what was held.
            seconds = self.clock() - started
            self.touch()
            with self._cond:
                self._current = []
                self._set_busy_locked(False)
                # Recent batches weigh most: the load (batch sizes, answer lengths) drifts.
                self._batch_s = seconds if self._batch_s is None else (
                    0.7 * self._batch_s + 0.3 * seconds)  # fmt: skip
                self._cond.notify_all()  # close() may be waiting for the queue to empty

    def _set_busy_locked(self, busy: bool) -> None:
        self._busy = busy
        if busy:
            self._busy_since = self.clock()

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
                    if left <= 0 or self._stopped:
                        break
                    self._cond.wait(left)
                if not self._queue:  # close() took them
                    return []
                key = self._queue[0].key
                batch = [j for j in self._queue if j.key == key and not getattr(j, "alone", False)]
                batch = batch[: self.settings.max_batch]
                for job in batch:
                    self._queue.remove(job)
            batch = [j for j in batch if not j.cancelled.is_set()]
            # Taken under the lock: a request arriving now must see the model busy, or it would
            # be admitted to wait for this whole batch.
            if batch:
                self._current = batch
                self._set_busy_locked(True)
            self.metrics.queue_depth.set(len(self._queue))
        return batch

    # --- supervision and shutdown -----------------------------------------------------------

    def supervise(self) -> bool:
        """Restart a dead worker; True when it did."""
        with self._cond:
            if self._stopped or self._thread.is_alive():
                return False
            held, self._current = self._current, []
            self._set_busy_locked(False)
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
