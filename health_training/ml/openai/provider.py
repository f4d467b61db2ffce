"""`fine_tune`: the whole OpenAI job in order, from datasheet to registered model.

datasheet → preflight (cookbook checks, estimate) → MLflow run → upload and create → poll →
events and checkpoints → billed cost → weightless pyfunc → registered with the alias `staging`.
Whatever ends the run early ends its MLflow run too: KILLED when the job was cancelled or the
process interrupted, FAILED otherwise, with the error as a tag.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from health_training.data import openai_chat
from health_training.ml.openai import job as jobs
from health_training.ml.openai import recording
from health_training.ml.openai.cost import Cost, actual_cost
from health_training.ml.openai.datasheet import Datasheet
from health_training.ml.openai.fine_tune_errors import DatasheetError, JobCancelled
from health_training.ml.openai.preflight import Preflight, preflight
from health_training.ml.openai.recording import PROVIDER
from health_training.ml.openai.request import FineTuneRequest
from health_training.ml.registry.tracking import Registry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FineTuneResult:
    job_id: str
    fine_tuned_model: str
    preflight: Preflight
    cost: Cost
    run_id: str
    model_uri: str
    version: str
    checkpoints: list[dict[str, Any]]
    n_events: int


def fine_tune(
    client: Any,
    train_jsonl: bytes,
    validation_jsonl: bytes | None,
    datasheet: Datasheet | None,
    request: FineTuneRequest,
    *,
    registry: Registry,
    count_tokens: Callable[[str], int],
    tokenizer_name: str,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] = logger.info,
    sleep: Callable[[float], None] = time.sleep,
) -> FineTuneResult:
    """The whole job, in order; refuses to start without a datasheet or with a bad export."""
    if datasheet is None:
        raise DatasheetError(
            "no datasheet: a fine-tuning job needs one naming the data's source, license, "
            "redaction (how PHI was removed) and intended use"
        )
    check = preflight(
        train_jsonl,
        validation_jsonl,
        model=request.model,
        hyperparameters=request.hyperparameters,
        count_tokens=count_tokens,
        tokenizer_name=tokenizer_name,
        token_limit=request.token_limit,
    )
    log(
        f"preflight: {check.train.n_examples} train examples, {check.train.billing_tokens} tokens "
        f"per epoch ({tokenizer_name}), {check.n_epochs} epochs, estimated "
        f"${check.estimated_cost_usd:.4f} (prices of {openai_chat.PRICE_TABLE_VERSION})"
    )
    if check.train.n_too_long:
        log(
            f"{check.train.n_too_long} train examples exceed {request.token_limit} tokens: truncated"
        )
    run_id = recording.start_run(registry, request, check, datasheet, tokenizer_name=tokenizer_name)
    status, started = "FAILED", time.monotonic()
    unwatched = None  # a created job that no poll loop is yet responsible for cancelling
    try:
        job, files = jobs.create_job(client, train_jsonl, validation_jsonl, request)
        unwatched = job.id
        recording.tag_job(registry, run_id, job.id, files)
        log(f"created OpenAI fine-tuning job {job.id} on {request.model}")
        unwatched = None  # from here wait_for_job cancels the job on its own way out
        job = jobs.wait_for_job(
            client, job.id, request.poll, should_stop=should_stop, log=log, sleep=sleep
        )
        try:
            n_events, checkpoints = recording.record_job(client, registry, run_id, job.id)
        except jobs.api_error() as exc:
            # A trained (and billed) model is registered even if its history cannot be read.
            log(f"job {job.id}: events/checkpoints not recorded ({type(exc).__name__}: {exc})")
            n_events, checkpoints = 0, []
        registry.client.set_tag(run_id, "openai.status", str(job.status))
        jobs.raise_unless_succeeded(job)
        cost = actual_cost(job.trained_tokens or 0, request.model, check.estimated_cost_usd)
        recording.record_outcome(
            registry,
            run_id,
            cost,
            checkpoints=checkpoints,
            duration_s=time.monotonic() - started,
            fine_tuned_model=job.fine_tuned_model,
        )
        # The only MLflow import on this path: the pyfunc class must subclass PythonModel.
        from health_training.ml.openai.pyfunc import log_openai_model

        model_uri = log_openai_model(
            registry,
            run_id,
            job.fine_tuned_model,
            base_model=request.model,
            job_id=job.id,
            base_url=request.base_url,
            system_prompt=check.system_prompt,
        )
        status = "FINISHED"
    except BaseException as exc:
        if unwatched is not None:
            jobs.cancel_job(client, unwatched, log)
        # An interrupt ends the run as KILLED (the job is cancelled by now).
        stopped = isinstance(exc, JobCancelled) or not isinstance(exc, Exception)
        status = "KILLED" if stopped else "FAILED"
        registry.client.set_tag(run_id, "error", f"{type(exc).__name__}: {exc}"[:5000])
        raise
    finally:
        registry.finish_run(run_id, status)
    version = registry.register(
        model_uri,
        tags={
            **request.tags,
            "provider": PROVIDER,
            "openai.job_id": job.id,
            "openai.model": request.model,
            "openai.fine_tuned_model": job.fine_tuned_model,
        },
    )
    return FineTuneResult(
        job_id=job.id,
        fine_tuned_model=job.fine_tuned_model,
        preflight=check,
        cost=cost,
        run_id=run_id,
        model_uri=model_uri,
        version=version,
        checkpoints=checkpoints,
        n_events=n_events,
    )
