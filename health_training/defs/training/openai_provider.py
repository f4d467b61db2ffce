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

import dagster as dg
from pydantic import Field

from health_training.defs.data.datasets import openai_chat_dataset
from health_training.defs.handoff import upstream
from health_training.defs.training.openai_support import fine_tune_export, result_metadata
from health_training.resources import MlflowResource, OpenAIResource, Storage


class OpenAIFineTuneConfig(dg.Config):
    datasheet: str = Field(
        description="YAML or JSON datasheet (source, license, redaction, intended_use); required."
    )
    n_epochs: int | None = Field(default=None, description="Epochs; None: the API's default.")
    batch_size: int | None = Field(default=None, description="Batch size; None: the API's.")
    learning_rate_multiplier: float | None = Field(
        default=None, description="Learning-rate multiplier; None: the API's."
    )
    suffix: str = Field(default="health-query", description="Up to 64 characters of the name.")
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
