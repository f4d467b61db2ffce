"""LoRA / QLoRA fine-tuning of a causal LM on the training dataset's Parquet splits.

Runs without Dagster through `python -m health_training.ml.train` (ml/train.py).

Model → tokenizer → data → trainer → save, in that order. A run identity (base model and
revision, dataset version, training config, prompt format) names the checkpoint folder: a
restarted run resumes from its latest checkpoint only when the identity matches. Warm-starting
from another adapter (e.g. production's) is a separate, explicit option. When the profile has an
enabled `preference:` section and rated answers are given, a DPO or KTO pass follows SFT
(`ml.preference.stage.train_with_preference`) as its own run with its own identity.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from health_training.ml.training.config import TrainConfig
from health_training.ml.training.run_record import (
    TrainResult,
    finished_run,
    latest_checkpoint,
    precision_arguments,
    precision_for_hardware,
    run_identity,
)

ProgressFn = Callable[[dict[str, Any]], None]


def _read_split(dataset_dir: Path, split: str) -> list[dict[str, Any]]:
    """A split's rows with the columns training and sampling read (older datasets lack some)."""
    import pyarrow.parquet as pq

    path = dataset_dir / f"{split}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: materialize training_dataset first")
    table = pq.read_table(path)
    columns = ["content_key", "instruction", "input", "output"]
    optional = ("category", "source_format", "example_kind", "question_kind")
    columns += [c for c in optional if c in table.column_names]
    return table.select(columns).to_pylist()


def train(
    config: TrainConfig,
    dataset_dir: Path,
    output_dir: Path,
    *,
    models_dir: Path,
    dataset_version: str,
    progress: ProgressFn | None = None,
    stop_after_steps: int | None = None,
    restore: Callable[[Path], None] | None = None,
    on_checkpoint: Callable[[Path], None] | None = None,
) -> TrainResult:
    """Fine-tune; checkpoints and the adapter go under `output_dir/<run identity>/`.

    A run restarted with the same identity resumes from its latest checkpoint; a run whose
    identity already finished returns its result without training (a no-op that says so).
    `restore(run_dir)` fills the run folder from durable storage first (a new pod starts with an
    empty disk); `on_checkpoint(path)` is called after each checkpoint is written, to copy it
    there.
    """
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments

    from health_training.ml.lm.models import (
        count_parameters,
        load_model_and_tokenizer,
        resolve_base_model,
    )
    from health_training.ml.lm.packing import collate, encode_rows, pack
    from health_training.ml.lm.prompts import prompt_format
    from health_training.ml.training.response_loss import response_loss_trainer
    from health_training.ml.training.sample import training_sample

    started = time.monotonic()
    torch.manual_seed(config.seed)
    spec = resolve_base_model(config.base_model, models_dir)
    model, tokenizer = load_model_and_tokenizer(spec, quantization=config.quantization)
    if config.warm_start_adapter:
        model = PeftModel.from_pretrained(model, config.warm_start_adapter, is_trainable=True)
    else:
        lora = config.lora
        model = get_peft_model(
            model,
            LoraConfig(
                r=lora.r,
                lora_alpha=lora.alpha,
                lora_dropout=lora.dropout,
                target_modules=list(lora.target_modules),
                task_type="CAUSAL_LM",
            ),
        )
    trainable, total = count_parameters(model)

    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    sample = training_sample(
        _read_split(dataset_dir, "train"),
        max_narratives=config.max_train_examples,
        max_questions=config.max_question_examples,
        stratify=config.stratify_sample,
        question_kind_limits=config.question_kind_limits,
    )
    train_rows = list(sample.rows)
    eval_rows = _read_split(dataset_dir, "validation")[: config.max_eval_examples or None]
    train_data = pack(
        encode_rows(tokenizer, train_rows), config.max_length, pad_id, packing=config.packing
    )
    eval_data = pack(
        encode_rows(tokenizer, eval_rows), config.max_length, pad_id, packing=config.packing
    )
    if not train_data.rows:
        raise ValueError(f"no training example fits in max_length={config.max_length}")

    identity = run_identity(
        base=spec.source,
        revision=spec.revision,
        dataset_version=dataset_version,
        config=config,
        prompt_format=prompt_format(tokenizer),
    )
    run_dir = output_dir / identity
    checkpoints = run_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    (run_dir / "identity.json").write_text(
        json.dumps(
            {
                "identity": identity,
                "base": spec.source,
                "revision": spec.revision,
                "dataset": dataset_version,
                "config": asdict(config),
                "prompt_format": prompt_format(tokenizer),
            },
            indent=2,
            default=str,
        )
    )
    done = finished_run(run_dir, restore)
    if done is not None:
        if progress is not None:
            progress({"event": "finished_before", "step": done.steps, "max_steps": done.steps})
        return done
    resume = latest_checkpoint(checkpoints)
    if resume is not None and progress is not None:
        progress(
            {"event": "resume", "checkpoint": resume.name, "step": int(resume.name.split("-")[-1])}
        )
    precision = precision_for_hardware()
    has_eval = bool(eval_data.rows)
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        warmup_steps=float(config.warmup_ratio),  # transformers 5: a float in [0, 1) is a ratio
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=config.load_best_model_at_end and has_eval,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        gradient_checkpointing=config.gradient_checkpointing,
        **precision_arguments(precision),
        logging_steps=1,
        report_to="none",
        seed=config.seed,
        remove_unused_columns=False,  # our rows carry position_ids the model needs
        dataloader_num_workers=0,
        disable_tqdm=True,  # the CLI draws its own bar from the progress callback
    )

    tokens_per_row = train_data.tokens / len(train_data.rows)

    class _Progress(TrainerCallback):
        """Step, loss, real tokens/s and ETA to the Dagster log or a tqdm bar."""

        def __init__(self) -> None:
            self.t0 = time.monotonic()
            self.first_step: int | None = None

        def on_log(self, args, state, control, logs=None, **kwargs):
            if progress is None or not logs:
                return
            if self.first_step is None:
                self.first_step = max(state.global_step - 1, 0)
            done = state.global_step - self.first_step
            elapsed = time.monotonic() - self.t0
            rows = done * config.batch_size * config.grad_accum
            rate = rows * tokens_per_row / elapsed if elapsed > 0 else 0.0
            eta = elapsed / done * (state.max_steps - state.global_step) if done else None
            progress(
                {
                    "step": state.global_step,
                    "max_steps": state.max_steps,
                    "tokens_per_s": rate,
                    "eta_s": eta,
                    **{k: v for k, v in logs.items() if isinstance(v, int | float)},
                }
            )

        def on_step_end(self, args, state, control, **kwargs):
            # Lets tests (and operators) interrupt a run at a known step to prove resumption.
            if stop_after_steps is not None and state.global_step >= stop_after_steps:
                control.should_training_stop = True
                control.should_save = True

        def on_save(self, args, state, control, **kwargs):
            if on_checkpoint is not None:
                saved = checkpoints / f"checkpoint-{state.global_step}"
                if saved.is_dir():
                    on_checkpoint(saved)

    callbacks: list[Any] = [_Progress()]
    if has_eval and config.early_stopping_patience:
        callbacks.append(
            EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience)
        )
    trainer = response_loss_trainer()(
        model=model,
        args=args,
        train_dataset=list(train_data.rows),
        eval_dataset=list(eval_data.rows) if has_eval else None,
        data_collator=collate,
        callbacks=callbacks,
    )
    if progress is not None:
        # The plan lets callers print a duration / energy / CO2 estimate before the first step.
        planned_rows = (
            config.max_steps * config.batch_size * config.grad_accum
            if config.max_steps > 0
            else len(train_data.rows) * config.epochs
        )
        progress(
            {
                "event": "plan",
                "step": 0,
                "max_steps": config.max_steps,
                "tokens_per_s": 0.0,
                "tokens_planned": int(
                    min(planned_rows, len(train_data.rows) * max(config.epochs, 1)) * tokens_per_row
                ),
                "train_examples": train_data.examples,
                "sample": sample.describe(),
                "corrections": sample.corrections,
                "too_long": train_data.too_long,
                "packed_rows": len(train_data.rows),
                "fill": round(train_data.fill, 3),
                "resume_from": resume.name if resume else None,
            }
        )
    t_train = time.monotonic()
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    train_seconds = time.monotonic() - t_train
    # The periodic evaluations already scored the model that was kept (the best one when
    # load_best_model_at_end): evaluating it again costs a full pass over the eval set.
    evals = [h["eval_loss"] for h in trainer.state.log_history if "eval_loss" in h]
    if has_eval and not evals:
        evals = [trainer.evaluate()["eval_loss"]]
    best = trainer.state.best_metric if args.load_best_model_at_end else None
    metrics = {"eval_loss": best if best is not None else evals[-1]} if evals else {}
    adapter_dir = run_dir / "adapter"
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)

    def tokens_for(steps: int) -> int:
        rows_seen = steps * config.batch_size * config.grad_accum
        return int(min(rows_seen, len(train_data.rows) * max(config.epochs, 1)) * tokens_per_row)

    # Tokens of the whole training (before a resume too); the rate only of this process's steps.
    steps_run = output.global_step - (int(resume.name.split("-")[-1]) if resume else 0)
    tokens_trained, tokens_now = tokens_for(output.global_step), tokens_for(steps_run)
    eval_loss = metrics.get("eval_loss")
    result = TrainResult(
        adapter_dir=adapter_dir,
        run_dir=run_dir,
        identity=identity,
        base_model=spec.source,
        base_revision=spec.revision,
        trainable_params=trainable,
        total_params=total,
        train_examples=train_data.examples,
        too_long=train_data.too_long,
        tokens_trained=tokens_trained,
        tokens_per_second=tokens_now / train_seconds if train_seconds > 0 else 0.0,
        train_loss=output.training_loss,
        eval_loss=eval_loss,
        perplexity=math.exp(eval_loss) if eval_loss is not None and eval_loss < 50 else None,
        steps=output.global_step,
        resumed_from=resume.name if resume else None,
        duration_s=time.monotonic() - started,
        precision=precision,
        log_history=tuple(trainer.state.log_history),
    )
    # A run stopped on purpose before its plan (`stop_after_steps`) is unfinished: the next call
    # resumes it. Only a finished one (its plan, or early stopping) becomes a no-op next time.
    stopped_early = stop_after_steps is not None and output.global_step < trainer.state.max_steps
    if not stopped_early:
        (run_dir / "train_result.json").write_text(
            json.dumps(result.to_dict(), indent=2, default=str)
        )
    return result
