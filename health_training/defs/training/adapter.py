"""`lora_adapter`: LoRA / QLoRA fine-tuning on the training dataset version its upstream produced
(the run itself: ml/training/adapter_training.py).

The asset carries the GPU tag as an op tag and its jobs carry it as a run tag, so every way to
start a training (UI, CLI, sensor, schedule) reaches the GPU run launcher. A terminated run is
never retried: only other failures ask for a retry, which resumes from the stored checkpoint.
"""

import base64
import json
from dataclasses import asdict
from typing import Any

import dagster as dg
from pydantic import Field

from health_training.constants import GPU_TAG, REASON_TAG, TRAIN_REASONS
from health_training.data import layout
from health_training.data.dataset_repository import DatasetRepository
from health_training.defs.data.datasets import training_dataset
from health_training.defs.data.preference import preference_dataset
from health_training.defs.handoff import upstream
from health_training.defs.phase_clock import announce_phase
from health_training.ml.training.adapter_training import (
    NoProductionVersion,
    train_adapter,
    warm_started,
)
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
    produced: DPO or KTO, ml/preference), CodeCarbon tracking the training. Progress (step, loss,
    tokens/s, ETA) goes to the run log; the adapter and checkpoints go to the storage resource."""
    from health_training.ml.training.config import load_train_config

    announce_phase(context)
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
        try:
            cfg = warm_started(cfg, mlflow.registry(), training.runs_dir)
        except NoProductionVersion as exc:
            raise dg.Failure(str(exc)) from exc
    preference, note = preference_for_training(context, storage, cfg)
    try:
        result, spec = train_adapter(
            cfg,
            dataset_dir,
            version,
            storage=storage,
            runs_dir=training.runs_dir,
            models_dir=training.models_dir,
            country_iso_code=carbon.country_iso_code,
            gpu_ids=carbon.gpu_ids,
            preference=preference,
            log=context.log.info,
        )
    except Exception as exc:  # an interrupt (termination) is no Exception: it is never retried
        if context.retry_number >= RETRIES:
            raise
        raise dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=10) from exc
    extra = {"dataset_version": version, "months": months, "reason": reason}
    stage = preference_stage_metadata(result, note)
    return dg.MaterializeResult(
        metadata=adapter_metadata(result, spec, cfg, storage) | extra | stage
    )


def preference_for_training(context: Any, storage: Storage, cfg: Any) -> tuple[Any, str]:
    """(the PreferenceDataset preference_dataset recorded, or None; a note for the metadata).
    A profile without an enabled preference stage, or preference_dataset never materialized:
    None, and the preference stage is skipped with that said."""
    from health_training.ml.preference.store import read_preference_version

    if cfg.preference is None or not cfg.preference.enabled:
        return None, "the profile has no enabled preference: section"
    if context.instance.get_latest_materialization_event(dg.AssetKey("preference_dataset")) is None:
        return None, "preference_dataset was never materialized: no preference stage"
    version = str(upstream(context, "preference_dataset")["version"])
    return read_preference_version(storage, version), f"preference data {version}"


def preference_stage_metadata(result: Any, note: str) -> dict[str, Any]:
    """What the adapter's materialization says about its preference stage."""
    stage = result.preference or {}
    if not stage:
        return {"preference_stage": note}
    if "skipped" in stage:
        return {
            "preference_stage": f"skipped: {stage['skipped']}",
            "preference_data_version": stage["data_version"],
        }
    return {
        "preference_stage": (
            f"{stage['method']}: {stage['examples']} examples ({stage['desirable']} desirable, "
            f"{stage['undesirable']} undesirable, {stage['pairs']} pairs) on SFT run "
            f"{stage['sft_identity']}"
        ),
        "preference_data_version": stage["data_version"],
        "sft_run_identity": stage["sft_identity"],
    }


def adapter_metadata(result: Any, spec: Any, cfg: Any, storage: Storage) -> dict[str, Any]:
    """What the materialization records: the hand-off (identity, storage keys, dataset version,
    base) and the figures people read."""
    png = (result.run_dir / "loss_curve.png").read_bytes()
    emissions = json.loads((result.run_dir / "emissions_training.json").read_text())
    return {
        "run_identity": result.identity,
        "run_storage_key": layout.model_run(result.identity),
        "adapter": dg.MetadataValue.path(storage.uri(layout.model_run(result.identity, "adapter"))),
        "base_model": result.base_model,
        "base_name": spec.name,
        "base_revision": result.base_revision or "",
        "profile": cfg.profile,
        "max_length": cfg.max_length,
        "config": dg.MetadataValue.json(json.loads(json.dumps(asdict(cfg), default=str))),
        "trainable_params": result.trainable_params,
        "total_params": result.total_params,
        "trainable_share": f"{result.trainable_params / result.total_params:.2%}",
        "train_examples": result.train_examples,
        "too_long_left_out": result.too_long,
        "tokens_trained": result.tokens_trained,
        "tokens_per_second": round(result.tokens_per_second, 1),
        "train_loss": round(result.train_loss, 4) if result.train_loss is not None else "—",
        "validation_response_loss": round(result.eval_loss, 4)
        if result.eval_loss is not None
        else "—",
        "steps": result.steps,
        "resumed_from": result.resumed_from or "—",
        "duration_s": round(result.duration_s, 1),
        "kg_co2eq_training": round(float(emissions["kg_co2eq"]), 6),
        "loss_curve": dg.MetadataValue.md(
            f"![loss curve](data:image/png;base64,{base64.b64encode(png).decode()})"
        ),
    }
