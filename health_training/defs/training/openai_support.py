"""What `openai_fine_tuned_model` does: read the export of one dataset version from storage,
build the request from config and resource, run the provider with cancellation on termination,
and describe the result."""

from __future__ import annotations

from typing import Any

import dagster as dg
import orjson

from health_training.data import layout
from health_training.data.openai_chat import select_counter
from health_training.defs.data.config import md_table
from health_training.ml.registry import STAGING
from health_training.resources import MlflowResource, OpenAIResource, Storage, tiktoken_cache_dir


def _stop_requested(context: Any) -> bool:
    run = context.instance.get_run_by_id(context.run_id)
    return run is not None and run.status in (
        dg.DagsterRunStatus.CANCELING,
        dg.DagsterRunStatus.CANCELED,
    )


def fine_tune_export(
    context: Any,
    config: Any,
    version: str,
    *,
    storage: Storage,
    mlflow: MlflowResource,
    openai: OpenAIResource,
) -> tuple[Any, Any, Any, str]:
    from health_training.ml import openai as oft

    try:
        datasheet = oft.load_datasheet(config.datasheet)
    except oft.DatasheetError as exc:
        raise dg.Failure(str(exc)) from exc
    train = storage.read_bytes(layout.openai_split(version, "train"))
    validation = None
    if config.use_validation:
        validation = storage.read_optional(layout.openai_split(version, "validation"))
        if validation is not None and not validation.strip():
            context.log.warning(f"dataset {version} has an empty validation split: not uploaded")
            validation = None
    # The export's own token limit, so this check agrees with the one that wrote the files.
    export_report = orjson.loads(storage.read_bytes(layout.openai_report(version)))
    tokenizer, count = select_counter(tiktoken_cache_dir())
    request = oft.FineTuneRequest(
        model=config.model or openai.model,
        hyperparameters=oft.Hyperparameters(
            n_epochs=config.n_epochs or "auto",
            batch_size=config.batch_size or "auto",
            learning_rate_multiplier=config.learning_rate_multiplier or "auto",
        ),
        suffix=config.suffix or None,
        seed=config.seed,
        poll=oft.PollPolicy(
            interval_s=openai.poll_interval_s,
            max_interval_s=openai.max_poll_interval_s,
            deadline_s=openai.deadline_s,
        ),
        token_limit=export_report["train"]["token_limit"],
        experiment=mlflow.experiment,
        base_url=openai.base_url,
        tags={
            "dagster_run_id": context.run_id,
            "dataset_version": version,
            "reason": config.reason,
            "tokenizer": tokenizer,
        },
    )
    client = openai.client()
    try:
        result = oft.fine_tune(
            client,
            train,
            validation,
            datasheet,
            request,
            registry=mlflow.registry(),
            count_tokens=count,
            tokenizer_name=tokenizer,
            should_stop=lambda: _stop_requested(context),
            log=context.log.info,
        )
    except dg.DagsterExecutionInterruptedError:
        context.log.warning("run terminated: the OpenAI fine-tuning job was cancelled")
        raise
    except (oft.FineTuneError, ValueError) as exc:
        raise dg.Failure(str(exc)) from exc
    finally:
        client.close()
    return request, result, datasheet, tokenizer


def result_metadata(
    result: Any, request: Any, datasheet: Any, version: str, tokenizer: str, mlflow: MlflowResource
) -> dict[str, Any]:
    cost, check = result.cost, result.preflight
    checkpoints = [
        (c["step_number"], *(c["metrics"].get(k) for k in ("train_loss", "valid_loss")))
        for c in result.checkpoints
    ]
    return {
        "job_id": result.job_id,
        "fine_tuned_model": result.fine_tuned_model,
        "base_model": request.model,
        "dataset_version": version,
        "train_examples": check.train.n_examples,
        "validation_examples": check.validation.n_examples if check.validation else 0,
        "tokenizer": tokenizer,
        "n_epochs": check.n_epochs,
        "estimated_training_tokens": check.estimated_training_tokens,
        "trained_tokens": cost.trained_tokens,
        "estimated_cost_usd": cost.estimated_usd,
        "cost_usd": cost.actual_usd,
        "cost_difference_usd": cost.difference_usd,
        "cost_ratio": round(cost.ratio, 3) if cost.ratio is not None else "—",
        "price_table_version": cost.price_table_version,
        "checkpoints": md_table(("step", "train loss", "valid loss"), checkpoints),
        "events": result.n_events,
        "datasheet": dg.MetadataValue.json(datasheet.tags()),
        "mlflow_run_id": result.run_id,
        "registered_model": mlflow.model_name,
        "version": result.version,
        "alias": STAGING,
    }
