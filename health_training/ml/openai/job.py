"""The fine-tuning job on the API: upload the files, create the job, poll it, cancel it.

The job is polled with capped exponential backoff under a hard deadline. A deadline, a
`should_stop()` that turns true, or an interrupt (Ctrl-C, Dagster's run termination) cancels it,
because nobody would be left to record or register what it produces. A poll that fails with an
error the client already retried (connection, rate limit, 5xx) only means "ask again later".
`client` is an `openai.OpenAI` (or anything shaped like one); the `openai` package itself is
imported only for its exception types.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from health_training.ml.openai.fine_tune_errors import JobCancelled, JobDeadlineExceeded, JobFailed
from health_training.ml.openai.request import FineTuneRequest, PollPolicy

logger = logging.getLogger(__name__)

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
KNOWN_STATUSES = TERMINAL | {"validating_files", "queued", "running"}


def upload(client: Any, name: str, data: bytes) -> str:
    """One JSONL file with purpose fine-tune; returns its file id."""
    return client.files.create(file=(name, data, "application/jsonl"), purpose="fine-tune").id


def create_job(
    client: Any, train_jsonl: bytes, validation_jsonl: bytes | None, request: FineTuneRequest
) -> tuple[Any, dict[str, str]]:
    """Upload the files and create the job; returns it and {"training_file": id, ...}."""
    files = {"training_file": upload(client, "train.jsonl", train_jsonl)}
    if validation_jsonl is not None:
        files["validation_file"] = upload(client, "validation.jsonl", validation_jsonl)
    options: dict[str, Any] = {"suffix": request.suffix} if request.suffix else {}
    if request.seed is not None:
        options["seed"] = request.seed
    job = client.fine_tuning.jobs.create(
        model=request.model, method=request.hyperparameters.method(), **files, **options
    )
    return job, files


def cancel_job(client: Any, job_id: str, log: Callable[[str], None]) -> bool:
    """Best effort: a cancel that fails must not hide why we were cancelling."""
    try:
        client.fine_tuning.jobs.cancel(job_id)
    except Exception as exc:
        log(f"could not cancel OpenAI fine-tuning job {job_id}: {type(exc).__name__}: {exc}")
        return False
    log(f"cancelled OpenAI fine-tuning job {job_id}")
    return True


def transient_errors() -> tuple[type[BaseException], ...]:
    import openai

    # The client has already retried these; the job itself is fine, so keep watching it.
    return (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


def api_error() -> type[BaseException]:
    """The base of every error the client raises."""
    import openai

    return openai.OpenAIError


def wait_for_job(
    client: Any,
    job_id: str,
    poll: PollPolicy,
    *,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] = logger.info,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Poll until succeeded, failed or cancelled and return the job; any other status, known or
    not, means "not yet". The deadline or `should_stop()` cancels the job and raises; so does any
    exception (KeyboardInterrupt, DagsterExecutionInterruptedError) that escapes the loop."""
    transient = transient_errors()
    deadline = clock() + poll.deadline_s
    status, settled = "", False
    seen_events: set[str] = set()
    try:
        for interval in poll.intervals():
            if should_stop is not None and should_stop():
                cancel_job(client, job_id, log)
                settled = True
                raise JobCancelled(
                    f"OpenAI fine-tuning job {job_id} cancelled: the run was stopped"
                )
            try:
                job = client.fine_tuning.jobs.retrieve(job_id)
            except transient as exc:
                log(f"job {job_id}: poll failed ({type(exc).__name__}: {exc}); still waiting")
            else:
                if str(job.status) != status:
                    status = str(job.status)
                    unknown = "" if status in KNOWN_STATUSES else " (unknown status, still waiting)"
                    log(f"job {job_id}: {status}{unknown}")
                _log_new_events(client, job_id, seen_events, log)
                if status in TERMINAL:
                    settled = True
                    return job
            remaining = deadline - clock()
            if remaining <= 0:
                cancel_job(client, job_id, log)
                settled = True
                raise JobDeadlineExceeded(
                    f"OpenAI fine-tuning job {job_id} did not finish within {poll.deadline_s:g} s "
                    f"(last status: {status or 'unknown'}); it was cancelled. Raise the deadline "
                    "(OpenAIResource.deadline_s) if jobs of this size take longer."
                )
            sleep(min(interval, remaining))
    except BaseException:
        if not settled:
            cancel_job(client, job_id, log)
        raise
    raise AssertionError("unreachable: intervals() never ends")


def _log_new_events(client: Any, job_id: str, seen: set[str], log: Callable[[str], None]) -> None:
    """Progress for the run log; events are informative, so failing to list them is not fatal."""
    try:
        page = client.fine_tuning.jobs.list_events(job_id, limit=50)
    except api_error() as exc:
        log(f"job {job_id}: could not list events ({type(exc).__name__}: {exc})")
        return
    for event in reversed(page.data):  # newest first on the wire
        if event.id not in seen:
            seen.add(event.id)
            if event.type != "metrics":  # per-step metrics go to MLflow, not the run log
                log(f"job {job_id} [{event.level}] {event.message}")


def raise_unless_succeeded(job: Any) -> None:
    """A finished job that is not a usable model raises, naming the job and the API's error."""
    if job.status == "cancelled":
        raise JobCancelled(f"OpenAI fine-tuning job {job.id} was cancelled (outside this run)")
    if job.status != "succeeded":
        error = job.error
        detail = f"{error.code}: {error.message}" if error else "no error given"
        param = f" (param: {error.param})" if error and error.param else ""
        raise JobFailed(f"OpenAI fine-tuning job {job.id} {job.status}: {detail}{param}")
    if not job.fine_tuned_model:
        raise JobFailed(f"OpenAI fine-tuning job {job.id} succeeded but names no fine_tuned_model")
