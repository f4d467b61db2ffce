"""`lora_adapter`: LoRA / QLoRA fine-tuning on the training dataset version its upstream produced.

The asset carries the GPU tag as an op tag and its jobs carry it as a run tag, so every way to
start a training (UI, CLI, sensor, schedule) reaches the GPU run launcher. A terminated run is
never retried: only other failures ask for a retry, which resumes from the stored checkpoint.
"""

import dagster as dg
from pydantic import Field

from health_training.constants import GPU_TAG, REASON_TAG, TRAIN_REASONS
from health_training.data.dataset_repository import DatasetRepository
from health_training.defs.data.datasets import training_dataset
from health_training.defs.data.preference import (
    preference_dataset,
    preference_for_training,
    preference_stage_metadata,
)
from health_training.defs.handoff import upstream
from health_training.defs.training.training_run import adapter_metadata, run_training, warm_started
from health_training.resources import CarbonResource, MlflowResource, Storage, TrainingResource

RETRIES = 2


class LoraAdapterConfig(dg.Config):
    profile: str | None = Field(
        default=None, description="Training profile (default: the resource's)."
    )
    base_model: str | None = Field(default=None, description="Override the profile's base model.")
    max_steps: int | None = Field(default=None, description="Cap the optimizer steps.")
    reason: str = Field(default="manual", description=f"Why: {', '.join(TRAIN_REASONS)}.")
    warm_start_from_production: bool = Field(
        default=False, description="Start from the production adapter's weights (explicit opt-in)."
    )


@dg.asset(
    group_name="training",
    kinds={"pytorch", "peft"},
    deps=[training_dataset, preference_dataset],
    pool="gpu",
    op_tags={GPU_TAG: "1"},
)
def lora_adapter(
    context: dg.AssetExecutionContext,
    config: LoraAdapterConfig,
    storage: Storage,
    training: TrainingResource,
    mlflow: MlflowResource,
    carbon: CarbonResource,
) -> dg.MaterializeResult:
    """A LoRA (or QLoRA) adapter fine-tuned on the dataset version training_dataset produced,
    then, when the profile asks, tuned on rated answers (the version preference_dataset
    produced: DPO or KTO, ml/preference), CodeCarbon tracking the training. Progress (step, loss, tokens/s, ETA) goes to the run log;
    the adapter and checkpoints go to the storage resource."""
    from health_training.ml.train import load_train_config

    reason = context.run.tags.get(REASON_TAG, config.reason)  # sensors set it as a run tag
    if reason not in TRAIN_REASONS:
        raise dg.Failure(f"reason {reason!r} is not one of {TRAIN_REASONS}")
    version = str(upstream(context, "training_dataset")["version"])
    repo = DatasetRepository(storage)
    dataset_dir = repo.local_copy(version, training.runs_dir / "datasets")
    months = ",".join(repo.manifest(version).get("months", []))
    cfg = load_train_config(
        config.profile or training.profile, base_model=config.base_model, max_steps=config.max_steps
    )
    if config.warm_start_from_production:
        cfg = warm_started(cfg, mlflow, training)
    preference, note = (None, "the profile has no enabled preference: section")
    if cfg.preference is not None and cfg.preference.enabled:
        preference, note = preference_for_training(context, storage)
    try:
        result, spec = run_training(
            context,
            cfg,
            dataset_dir,
            version,
            storage=storage,
            training=training,
            carbon=carbon,
            preference=preference,
        )
    except Exception as exc:  # an interrupt (termination) is no Exception: it is never retried
        if context.retry_number >= RETRIES:
            raise
        raise dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=10) from exc
    return dg.MaterializeResult(
        metadata=adapter_metadata(
            result,
            spec,
            cfg,
            storage,
            dataset_version=version,
            months=months,
            reason=reason,
            **preference_stage_metadata(result, note),
        )
    )
