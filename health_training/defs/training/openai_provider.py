"""`openai_fine_tuned_model`: the OpenAI fine-tuning provider run on the current chat export.

The alternative to `lora_adapter` when a job's config chooses OpenAI: reads the JSONL splits that
`openai_chat_dataset` wrote, refuses to start without a complete datasheet or with format errors,
then trains, records and registers through `health_training.ml.openai_finetune`. Terminating the
Dagster run cancels the OpenAI job (the interrupt reaches the poll loop, which cancels before it
re-raises; a run marked CANCELING without a signal is caught by `should_stop`).

    dagster asset materialize -m health_training.definitions --select openai_fine_tuned_model \\
        --config-json '{"ops": {"openai_fine_tuned_model": {"config": {"datasheet": "ds.yaml"}}}}'
"""

from typing import Any

import dagster as dg
import orjson
from pydantic import Field

from health_training.assets.datasets import openai_chat_dataset
from health_training.assets.narratives import _table
from health_training.data import layout
from health_training.data.openai_chat import select_counter
from health_training.ml.registry import STAGING
from health_training.resources import MlflowResource, Storage, tiktoken_cache_dir


class OpenAIResource(dg.ConfigurableResource):
    """An OpenAI (or OpenAI-compatible) fine-tuning endpoint and how long to wait for a job."""

    base_url: str = Field(default="", description="API base URL; empty: api.openai.com.")
    api_key: str = Field(default="", description="API key, via dg.EnvVar('OPENAI_API_KEY').")
    model: str = Field(
        default="gpt-4o-mini-2024-07-18",
        description="Base model to fine-tune; must be priced in openai_chat.PRICE_TABLE.",
    )
    poll_interval_s: float = Field(
        default=15.0, description="First wait between status polls; doubles each poll."
    )
    max_poll_interval_s: float = Field(default=120.0, description="Cap on the wait between polls.")
    deadline_s: float = Field(
        default=8 * 3600.0, description="Cancel the job and fail if it has not finished by then."
    )
    request_timeout_s: float = Field(default=60.0, description="Timeout of one API request.")
    max_retries: int = Field(default=2, description="Client retries of a failed API request.")

    def client(self) -> Any:
        if not self.api_key:
            raise dg.Failure(
                "OpenAIResource.api_key is empty: set OPENAI_API_KEY (passed as "
                "dg.EnvVar('OPENAI_API_KEY')) to the key of the account that pays for training"
            )
        import openai

        return openai.OpenAI(
            base_url=self.base_url or None,
            api_key=self.api_key,
            timeout=self.request_timeout_s,
            max_retries=self.max_retries,
        )


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
        default="health-query", description="Up to 64 characters added to the model's name."
    )
    seed: int | None = Field(default=None, description="Seed of the job, for reproducibility.")
    model: str | None = Field(default=None, description="Override OpenAIResource.model.")
    use_validation: bool = Field(
        default=True, description="Upload the validation split for validation loss."
    )
    reason: str = Field(default="manual", description="Why this model is trained (MLflow tag).")


def _stop_requested(context: dg.AssetExecutionContext) -> bool:
    run = context.instance.get_run_by_id(context.run_id)
    return run is not None and run.status in (
        dg.DagsterRunStatus.CANCELING,
        dg.DagsterRunStatus.CANCELED,
    )


@dg.asset(group_name="training", kinds={"openai", "mlflow"}, deps=[openai_chat_dataset])
def openai_fine_tuned_model(
    context: dg.AssetExecutionContext,
    config: OpenAIFineTuneConfig,
    storage: Storage,
    mlflow: MlflowResource,
    openai: OpenAIResource,
) -> dg.MaterializeResult:
    """A model fine-tuned by the OpenAI API on the current chat export, its events and checkpoint
    metrics in MLflow, its billed cost against the estimate, registered with the alias `staging`
    as a weightless pyfunc that calls the fine-tuned model."""
    from health_training.ml import openai_finetune as oft

    try:
        datasheet = oft.load_datasheet(config.datasheet)
    except oft.DatasheetError as exc:
        raise dg.Failure(str(exc)) from exc
    version = orjson.loads(storage.read_bytes(layout.CURRENT_DATASET))["version"]
    train = storage.read_bytes(layout.openai_split(version, "train"))
    validation = None
    if config.use_validation:
        validation = storage.read_optional(layout.openai_split(version, "validation"))
        if validation is not None and not validation.strip():
            context.log.warning(f"dataset {version} has an empty validation split: not uploaded")
            validation = None
    # The export's own token limit, so the check here agrees with the one that wrote the files.
    export_report = orjson.loads(storage.read_bytes(layout.openai_report(version)))
    tokenizer, count = select_counter(tiktoken_cache_dir())
    hyperparameters = oft.Hyperparameters(
        n_epochs=config.n_epochs or "auto",
        batch_size=config.batch_size or "auto",
        learning_rate_multiplier=config.learning_rate_multiplier or "auto",
    )
    request = oft.FineTuneRequest(
        model=config.model or openai.model,
        hyperparameters=hyperparameters,
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

    cost, check = result.cost, result.preflight
    checkpoints = [
        (c["step_number"], *(c["metrics"].get(k) for k in ("train_loss", "valid_loss")))
        for c in result.checkpoints
    ]
    return dg.MaterializeResult(
        metadata={
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
            "cost_ratio": cost.ratio,
            "price_table_version": cost.price_table_version,
            "checkpoints": _table(("step", "train loss", "valid loss"), checkpoints),
            "events": result.n_events,
            "datasheet": dg.MetadataValue.json(datasheet.tags()),
            "mlflow_run_id": result.run_id,
            "registered_model": mlflow.model_name,
            "version": result.version,
            "alias": STAGING,
        }
    )
