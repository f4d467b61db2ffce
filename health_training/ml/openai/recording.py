"""What a fine-tuning job leaves in MLflow: the run's params and tags, the estimate and the billed
cost, every event (metric events as step metrics) and the checkpoints' metrics.

All writes go through `ml.registry.tracking.Registry` (its `client` is an `mlflow.MlflowClient`), so
nothing here imports MLflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from health_training.data import openai_chat

if TYPE_CHECKING:
    from health_training.ml.openai.cost import Cost
    from health_training.ml.openai.datasheet import Datasheet
    from health_training.ml.openai.preflight import Preflight
    from health_training.ml.openai.request import FineTuneRequest
    from health_training.ml.registry.tracking import Registry

PROVIDER = "openai"  # the `provider` tag on runs and model versions


def start_run(
    registry: Registry,
    request: FineTuneRequest,
    check: Preflight,
    datasheet: Datasheet,
    *,
    tokenizer_name: str,
) -> str:
    """Open the job's MLflow run: the request as params, the datasheet as tags and
    datasheet.json, the estimate as step-0 metrics; returns the run id."""
    tags = {"provider": PROVIDER, "openai.model": request.model, **datasheet.tags(), **request.tags}
    run_id = registry.start_training_run(
        experiment=request.experiment,
        params={
            "model": request.model,
            **{f"hp.{k}": v for k, v in asdict(request.hyperparameters).items()},
            "suffix": request.suffix,
            "seed": request.seed,
            "train_examples": check.train.n_examples,
            "validation_examples": check.validation.n_examples if check.validation else 0,
            "tokenizer": tokenizer_name,
            "token_limit": request.token_limit,
            "price_table_version": openai_chat.PRICE_TABLE_VERSION,
            "deadline_s": request.poll.deadline_s,
        },
        tags=tags,
        run_name=f"openai-{request.suffix or request.model}",
    )
    registry.log_step_metrics(
        run_id,
        {
            "estimated_training_tokens": check.estimated_training_tokens,
            "estimated_cost_usd": check.estimated_cost_usd,
        },
        0,
    )
    registry.client.log_dict(run_id, datasheet.to_dict(), "datasheet.json")
    return run_id


def tag_job(registry: Registry, run_id: str, job_id: str, files: Mapping[str, str]) -> None:
    """The job and file ids, so the run leads back to the job on the platform."""
    registry.client.set_tag(run_id, "openai.job_id", job_id)
    for key, file_id in files.items():
        registry.client.set_tag(run_id, f"openai.{key}", file_id)


def record_job(
    client: Any, registry: Registry, run_id: str, job_id: str
) -> tuple[int, list[dict[str, Any]]]:
    """Every event (an artifact; metric events as step metrics) and checkpoint metrics (step
    metrics named `checkpoint.<metric>`) to the MLflow run; returns (events, checkpoints)."""
    events = [e.model_dump(mode="json") for e in client.fine_tuning.jobs.list_events(job_id)]
    events.sort(key=lambda e: (e["created_at"], e["id"]))
    for event in events:
        data = event.get("data") or {}
        if event.get("type") == "metrics" and "step" in data:
            values = {k: v for k, v in data.items() if k != "step" and _is_number(v)}
            if values:
                registry.log_step_metrics(run_id, values, int(data["step"]))
    checkpoints = [
        c.model_dump(mode="json") for c in client.fine_tuning.jobs.checkpoints.list(job_id)
    ]
    checkpoints.sort(key=lambda c: c["step_number"])
    for ckpt in checkpoints:
        values = {
            f"checkpoint.{k}": v
            for k, v in (ckpt.get("metrics") or {}).items()
            if k != "step" and _is_number(v)
        }
        if values:
            registry.log_step_metrics(run_id, values, int(ckpt["step_number"]))
    mlflow_client = registry.client
    mlflow_client.log_text(
        run_id, "".join(json.dumps(e) + "\n" for e in events), "openai/events.jsonl"
    )
    mlflow_client.log_dict(run_id, checkpoints, "openai/checkpoints.json")
    return len(events), checkpoints


def record_outcome(
    registry: Registry,
    run_id: str,
    cost: Cost,
    *,
    checkpoints: list[dict[str, Any]],
    duration_s: float,
    fine_tuned_model: str,
) -> None:
    """The billed cost against the estimate and the duration, at the last checkpoint's step."""
    final = {
        "trained_tokens": cost.trained_tokens,
        "cost_usd": cost.actual_usd,
        "cost_difference_usd": cost.difference_usd,
        "duration_s": duration_s,
    }
    if cost.ratio is not None:
        final["cost_ratio"] = cost.ratio
    registry.log_step_metrics(run_id, final, checkpoints[-1]["step_number"] if checkpoints else 0)
    registry.client.set_tag(run_id, "openai.fine_tuned_model", fine_tuned_model)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
