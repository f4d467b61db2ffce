"""`openai_fine_tuned_model`: the OpenAI fine-tuning provider run on the chat export of the
dataset version its upstream produced.

The alternative to `lora_adapter` when a job chooses OpenAI: reads the JSONL splits that
`openai_chat_dataset` wrote, refuses to start without a complete datasheet or with format errors,
then trains, records and registers through `health_training.ml.openai`. Terminating the Dagster
run cancels the OpenAI job (the interrupt reaches the poll loop, which cancels before it
re-raises; a run marked CANCELING without a signal is caught by `should_stop`).

    dg launch --assets openai_fine_tuned_model \\
        --config-json '{"ops": {"openai_fine_tuned_model": {"config": {"datasheet": "ds.yaml"}}}}'
"""

from typing import Any

import dagster as dg
from pydantic import Field

from health_training.constants import DEFAULT_OPENAI_SUFFIX, STAGING
from health_training.data.chat_tokens import select_counter
from health_training.defs.data.datasets import openai_chat_dataset
from health_training.defs.handoff import upstream
from health_training.defs.metadata import md_table
from health_training.resources import MlflowResource, OpenAIResource, Storage, tiktoken_cache_dir


class OpenAIFineTuneConfig(dg.Config):
    datasheet: str = Field(
        description="YAML or JSON datasheet (source, license, redaction, intended_use); required."
    )
    n_epochs: int | None = Field(default=None, description="Epochs; None: the API's default.")
    batch_size: int | None = Field(default=None, description="Batch size; None: the API's.")
    learning_rate_multiplier: float | None = Field(
        default=None, description="Learning-rate multiplier; None: the API's."
    )
    suffix: str = Field(
        default=DEFAULT_OPENAI_SUFFIX, description="Up to 64 characters of the name."
    )
    seed: int | None = Field(default=None, description="Seed of the job, for reproducibility.")
    model: str | None = Field(default=None, description="Override OpenAIResource.model.")
    use_validation: bool = Field(default=True, description="Upload the validation split.")
    reason: str = Field(default="manual", description="Why this model is trained (MLflow tag).")


@dg.asset(group_name="training", kinds={"openai", "mlflow"}, deps=[openai_chat_dataset])
def openai_fine_tuned_model(
    context: dg.AssetExecutionContext,
    config: OpenAIFineTuneConfig,
    storage: Storage,
    mlflow: MlflowResource,
    openai: OpenAIResource,
) -> dg.MaterializeResult:
    """A model fine-tuned by the OpenAI API on the chat export, its events and checkpoint
    metrics in MLflow, its billed cost against the estimate, registered with the alias `staging`
    as a weightless pyfunc that calls the fine-tuned model."""
    version = str(upstream(context, "openai_chat_dataset")["dataset_version"])
    request, result, datasheet, tokenizer = fine_tune_export(
        context, config, version, storage=storage, mlflow=mlflow, openai=openai
    )
    return dg.MaterializeResult(
        metadata=result_metadata(result, request, datasheet, version, tokenizer, mlflow)
    )


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
    from health_training.ml.openai.export import read_export

    try:
        datasheet = oft.load_datasheet(config.datasheet)
    except oft.DatasheetError as exc:
        raise dg.Failure(str(exc)) from exc
    export = read_export(storage, version, use_validation=config.use_validation)
    for note in export.notes:
        context.log.warning(note)
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
        token_limit=export.token_limit,
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
            export.train,
            export.validation,
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
