"""The preference stage: after SFT, a DPO or KTO pass on rated answers, as its own resumable run.

    sft = train(config, dataset_dir, output_dir, models_dir=..., dataset_version=...)
    final = run_preference_stage(sft, config, preference_dataset, output_dir, models_dir=...)

`train_with_preference` (below; `python -m health_training.ml.train` and the
`lora_adapter` asset call it) runs it when the profile's `preference:` section is enabled. Its run
identity hashes the SFT run's identity, the preference data version and the settings: the same
three resume its latest checkpoint or, finished, return without training (a no-op that says so);
new ratings make a new data version and so a new run, while the SFT run stays a no-op. The result
is a `TrainResult` of the preference run (its folder holds the final adapter), with
`preference` telling what ran; too few train-split examples skip the stage and return the SFT
result with the reason.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from health_training.ml.preference.examples import PreferenceDataset
from health_training.ml.training.config import TrainConfig
from health_training.ml.training.run_record import (
    TrainResult,
    finished_run,
    latest_checkpoint,
    precision_for_hardware,
)
from health_training.ml.training.sft import train

ProgressFn = Callable[[dict[str, Any]], None]


def preference_identity(sft_identity: str, data_version: str, settings: Any) -> str:
    """What decides whether a preference checkpoint may be resumed: SFT run, data, settings."""
    doc = {"sft": sft_identity, "preference_data": data_version, "settings": asdict(settings)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _tell(progress: ProgressFn | None, message: str) -> None:
    # One event kind for the stage's notices: progress consumers print `message` as it is.
    if progress is not None:
        progress({"event": "preference", "message": message})


def run_preference_stage(
    sft: Any,
    config: Any,
    data: PreferenceDataset,
    output_dir: Path,
    *,
    models_dir: Path,
    progress: ProgressFn | None = None,
    restore: Callable[[Path], None] | None = None,
    on_checkpoint: Callable[[Path], None] | None = None,
) -> Any:
    """The preference run on top of the SFT result `sft` (a `TrainResult`)."""
    import torch
    from peft import PeftModel

    from health_training.ml.lm.models import (
        count_parameters,
        load_model_and_tokenizer,
        resolve_base_model,
    )
    from health_training.ml.preference.trainer import fit, fits, preference_rows

    settings = config.preference
    started = time.monotonic()
    summary: dict[str, Any] = {
        "method": settings.method,
        "data_version": data.version,
        "sft_identity": sft.identity,
        "sft_run_dir": str(sft.run_dir),
    }
    rows = preference_rows(data.train(), settings.method, seed=settings.seed)
    if len(rows) < settings.min_examples:
        reason = (
            f"{len(rows)} train-split {settings.method} examples in preference data "
            f"{data.version}, fewer than preference.min_examples={settings.min_examples}"
        )
        _tell(progress, f"preference stage skipped: {reason}")
        return replace(sft, preference={**summary, "skipped": reason})

    identity = preference_identity(sft.identity, data.version, settings)
    run_dir = output_dir / identity
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    (run_dir / "identity.json").write_text(
        json.dumps(
            {"identity": identity, "stage": "preference", **summary, "settings": asdict(settings)},
            indent=2,
            default=str,
        )
    )
    done = finished_run(run_dir, restore)
    if done is not None:
        _tell(
            progress,
            f"preference run {identity} already finished ({done.steps} steps): its adapter is "
            "reused, nothing is trained (new ratings make a new preference data version)",
        )
        # The SFT run may have been restored into another folder (another pod): point there.
        return replace(done, preference={**(done.preference or {}), **summary})

    torch.manual_seed(settings.seed)
    spec = resolve_base_model(config.base_model, models_dir)
    model, tokenizer = load_model_and_tokenizer(spec, quantization=config.quantization)
    model = PeftModel.from_pretrained(model, str(sft.adapter_dir), is_trainable=True)
    kept = [r for r in rows if fits(tokenizer, r, config.max_length)]
    too_long = len(rows) - len(kept)
    kept = kept[: settings.max_examples] if settings.max_examples else kept
    resume = latest_checkpoint(checkpoints)
    _tell(
        progress,
        f"preference plan: {settings.method} on {len(kept)} train-split examples of preference "
        f"data {data.version} ({too_long} longer than {config.max_length} tokens "
        f"left out), starting from SFT run {sft.identity}"
        + (f", resuming from {resume.name}" if resume else ""),
    )
    precision = precision_for_hardware()
    t_train = time.monotonic()
    trainer, output = fit(
        model,
        tokenizer,
        kept,
        settings,
        checkpoints_dir=str(checkpoints),
        max_length=config.max_length,
        gradient_checkpointing=config.gradient_checkpointing,
        precision=precision,
        resume_from=str(resume) if resume else None,
        progress=progress,
        on_checkpoint=(lambda path, _step: on_checkpoint(Path(path))) if on_checkpoint else None,
    )
    train_seconds = time.monotonic() - t_train
    adapter_dir = run_dir / "adapter"
    # Only the trained adapter: TRL's frozen `ref` copy is the SFT adapter, already stored.
    model.save_pretrained(adapter_dir, selected_adapters=["default"])
    tokenizer.save_pretrained(adapter_dir)

    history = tuple(trainer.state.log_history)
    tokens = max((float(h.get("num_tokens", 0)) for h in history), default=0.0)
    steps_run = output.global_step - (int(resume.name.split("-")[-1]) if resume else 0)
    share = steps_run / output.global_step if output.global_step else 0.0
    trainable, total = count_parameters(model)
    labels = [r.label for r in kept]
    result = TrainResult(
        adapter_dir=adapter_dir,
        run_dir=run_dir,
        identity=identity,
        base_model=spec.source,
        base_revision=spec.revision,
        trainable_params=trainable,
        total_params=total,
        train_examples=len(kept),
        too_long=too_long,
        tokens_trained=int(tokens),
        tokens_per_second=tokens * share / train_seconds if train_seconds > 0 else 0.0,
        train_loss=output.training_loss,
        eval_loss=None,
        perplexity=None,
        steps=output.global_step,
        resumed_from=resume.name if resume else None,
        duration_s=time.monotonic() - started,
        precision=precision,
        log_history=history,
        preference={
            **summary,
            "examples": len(kept),
            "desirable": sum(1 for x in labels if x is True),
            "undesirable": sum(1 for x in labels if x is False),
            "pairs": sum(1 for x in labels if x is None),
            "settings": asdict(settings),
        },
    )
    (run_dir / "train_result.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return result


def train_with_preference(
    config: TrainConfig,
    dataset_dir: Path,
    output_dir: Path,
    *,
    preference_data: Any = None,
    **kwargs: Any,
) -> TrainResult:
    """`train` (SFT), then a DPO or KTO pass on `preference_data` (an
    `ml.preference.examples.PreferenceDataset`) when the profile's `preference:` section is
    enabled. The result is the final adapter's run; its `preference` field says what ran."""
    sft = train(config, dataset_dir, output_dir, **kwargs)
    if preference_data is None or config.preference is None or not config.preference.enabled:
        return sft
    return run_preference_stage(
        sft,
        config,
        preference_data,
        output_dir,
        models_dir=kwargs["models_dir"],
        progress=kwargs.get("progress"),
        restore=kwargs.get("restore"),
        on_checkpoint=kwargs.get("on_checkpoint"),
    )
