"""LoRA / QLoRA fine-tuning of a causal LM on the training dataset's Parquet splits.

Runs without Dagster:

    python -m health_training.ml.train health_training/configs/training/cpu_demo.yaml \
        --dataset var/lake/datasets/training/<version> --output var/runs/demo \
        --models-dir var/models
    accelerate launch -m health_training.ml.train CONFIG ...   # several GPUs: same code path
    python -m health_training.ml.train cpu_demo --dataset ... --output ... \
        --feedback sqlite:///var/feedback/feedback.db     # + the preference stage on ratings

Model → tokenizer → data → trainer → save, in that order. A run identity (base model and
revision, dataset version, training config, prompt format) names the checkpoint folder: a
restarted run resumes from its latest checkpoint only when the identity matches. Warm-starting
from another adapter (e.g. production's) is a separate, explicit option. When the profile has an
enabled `preference:` section and rated answers are given, a DPO or KTO pass follows SFT
(`train_with_preference`, code in ml/preference/) as its own run with its own identity.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from health_training.ml.preference.config import PreferenceSettings, parse_preference

PROFILES_DIR = Path(__file__).resolve().parents[1] / "configs" / "training"
ProgressFn = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class TrainConfig:
    base_model: str = "olmo-7b"
    quantization: str | None = None
    lora: LoraSettings = field(default_factory=LoraSettings)
    epochs: float = 3
    max_steps: int = -1
    batch_size: int = 4
    grad_accum: int = 8
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.03
    lr_scheduler: str = "cosine"
    weight_decay: float = 0.0
    max_length: int = 1024
    packing: bool = True
    max_train_examples: int | None = None  # narratives; corrections are never capped
    max_question_examples: int | None = None  # question examples (etl/questions), by kind
    question_kind_limits: dict[str, int] | None = None  # e.g. {day_summary: 16}: below its share
    stratify_sample: bool = True  # a capped sample takes an equal share of every health domain
    max_eval_examples: int | None = None
    eval_steps: int = 100
    save_steps: int = 100
    save_total_limit: int = 3
    early_stopping_patience: int = 3
    load_best_model_at_end: bool = True
    gradient_checkpointing: bool = True
    seed: int = 42
    warm_start_adapter: str | None = None  # explicit: start from another adapter's weights
    profile: str = "custom"
    preference: PreferenceSettings | None = None  # DPO/KTO after SFT (ml/preference/config.py)


def load_train_config(path_or_profile: str | Path, **overrides: Any) -> TrainConfig:
    """A profile name (`cpu_demo`) or a YAML path; keyword overrides win."""
    path = Path(path_or_profile)
    if not path.exists():
        path = PROFILES_DIR / f"{path_or_profile}.yaml"
    if not path.exists():
        names = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no training config {path_or_profile!r}; profiles: {names}")
    raw = yaml.safe_load(path.read_text()) or {}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown training settings {unknown}")
    preference = parse_preference(raw.pop("preference", None), str(path))
    lora = raw.pop("lora", {}) or {}
    if isinstance(lora, dict):
        lora = LoraSettings(
            **{
                **lora,
                "target_modules": tuple(lora.get("target_modules", LoraSettings.target_modules)),
            }
        )
    raw.setdefault("profile", path.stem)
    return TrainConfig(lora=lora, preference=preference, **raw)


def precision_for_hardware() -> str:
    """bf16 on Ampere or newer, fp16 on older CUDA, fp32 on CPU (bf16 is 6-8x slower here)."""
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.get_device_capability()[0] >= 8 else "fp16"
    return "fp32"


def run_identity(
    *,
    base: str,
    revision: str | None,
    dataset_version: str,
    config: TrainConfig,
    prompt_format: str,
) -> str:
    """What decides whether a checkpoint may be resumed: same base, data, config and prompt."""
    settings = asdict(replace(config, profile=""))
    # The preference stage has its own identity (ml/preference/stage.py): tuning it never
    # invalidates a finished SFT run, which stays a no-op.
    settings.pop("preference", None)
    doc = {
        "base": base,
        "revision": revision,
        "dataset": dataset_version,
        "config": settings,
        "prompt_format": prompt_format,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path
    run_dir: Path
    identity: str
    base_model: str
    base_revision: str | None
    trainable_params: int
    total_params: int
    train_examples: int
    too_long: int
    tokens_trained: int
    tokens_per_second: float
    train_loss: float | None
    eval_loss: float | None
    perplexity: float | None
    steps: int
    resumed_from: str | None
    duration_s: float
    precision: str
    log_history: tuple[dict[str, Any], ...]
    preference: dict[str, Any] | None = None  # what the preference stage did (or why not)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["adapter_dir"], d["run_dir"] = str(self.adapter_dir), str(self.run_dir)
        return d

    @staticmethod
    def from_dict(data: dict[str, Any], run_dir: Path) -> TrainResult:
        """A stored result, its folders re-rooted at `run_dir` (it may come from another pod)."""
        known = {f.name for f in fields(TrainResult)}
        values = {k: v for k, v in data.items() if k in known}
        values |= {"run_dir": run_dir, "adapter_dir": run_dir / "adapter"}
        values["log_history"] = tuple(values.get("log_history", ()))
        return TrainResult(**values)


def _response_loss_trainer() -> type:
    """transformers' Trainer whose evaluation loss is the response-token loss of the report.

    The stock evaluation averages per-batch mean losses, so batches with few response tokens
    weigh as much as full ones, and its number differs from the report's test loss on the same
    model. Here every response token (and EOS) counts once, pooled over the whole eval set: the
    definition of `evaluation.LOSS_DEFINITION`, summed across processes under accelerate.
    """
    import torch
    from transformers import Trainer

    class ResponseLossTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            """The response-token loss, with the LM head run only where it has a target.

            Completion-only loss needs logits at the positions before a response token, about
            a third of a packed row; the stock loss projects every position onto the 49k-token
            vocabulary (a fifth of the model's matmuls and a 200 MB logits tensor a row) and
            then ignores most of it. Same loss, normalized as Trainer expects: by
            `num_items_in_batch` when given (gradient accumulation), else per batch.
            """
            targets = inputs["labels"][:, 1:]
            keep = (targets != -100).any(0).nonzero().flatten()
            outputs = model(
                input_ids=inputs["input_ids"],
                position_ids=inputs["position_ids"],
                logits_to_keep=keep,
            )
            picked = targets[:, keep]
            loss = torch.nn.functional.cross_entropy(
                outputs.logits.float().reshape(-1, outputs.logits.shape[-1]),
                picked.reshape(-1),
                ignore_index=-100,
                reduction="sum",
            )
            count = num_items_in_batch if num_items_in_batch is not None else (picked != -100).sum()
            loss = loss / count
            return (loss, outputs) if return_outputs else loss

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            loader = self.get_eval_dataloader(eval_dataset)
            model = self.model
            was_training = model.training
            model.eval()
            totals = torch.zeros(2, dtype=torch.float64, device=self.args.device)
            with torch.no_grad():
                for batch in loader:
                    batch = self._prepare_inputs(batch)
                    logits = model(
                        input_ids=batch["input_ids"], position_ids=batch["position_ids"]
                    ).logits
                    labels = batch["labels"][:, 1:]
                    totals[0] += torch.nn.functional.cross_entropy(
                        logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                        labels.reshape(-1),
                        ignore_index=-100,
                        reduction="sum",
                    )
                    totals[1] += (labels != -100).sum()
            totals = self.accelerator.reduce(totals, reduction="sum")
            model.train(was_training)
            loss = float(totals[0] / totals[1]) if totals[1] > 0 else float("nan")
            metrics = {f"{metric_key_prefix}_loss": loss}
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(
                self.args, self.state, self.control, metrics
            )
            return metrics

    return ResponseLossTrainer


def finished_run(run_dir: Path, restore: Callable[[Path], Any] | None) -> TrainResult | None:
    """The run in `run_dir` when it finished before (its result and adapter are there, after
    `restore` fetched what storage holds), else None: the run goes on or starts."""
    if restore is not None:
        restore(run_dir)
    finished = run_dir / "train_result.json"
    if finished.exists() and (run_dir / "adapter" / "adapter_config.json").exists():
        return TrainResult.from_dict(json.loads(finished.read_text()), run_dir)
    return None


def _latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return found[-1] if found else None


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

    from health_training.ml.models import (
        count_parameters,
        load_model_and_tokenizer,
        resolve_base_model,
    )
    from health_training.ml.packing import collate, encode_rows, pack
    from health_training.ml.prompts import prompt_format
    from health_training.ml.training_sample import training_sample

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
    resume = _latest_checkpoint(checkpoints)
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
        bf16=precision == "bf16",
        fp16=precision == "fp16",
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
    trainer = _response_loss_trainer()(
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


# --- preference stage (health_training.ml.preference): after SFT, when the profile asks -------


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
    from health_training.ml.preference.stage import run_preference_stage

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


def _preference_data(args: argparse.Namespace) -> Any:
    from health_training.ml.preference.store import (
        preference_dataset_from_store,
        read_preference_dataset,
    )

    if args.preference:
        return read_preference_dataset(args.preference)
    if args.feedback:
        return preference_dataset_from_store(args.feedback, args.dataset)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m health_training.ml.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "config",
        help="a YAML file or a profile name (balanced, fast, quality, memory_efficient, cpu_demo)",
    )
    parser.add_argument(
        "--dataset", required=True, type=Path, help="a training_dataset version folder"
    )
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--models-dir", type=Path, default=Path("var/models"))
    parser.add_argument("--base-model", help="override the config's base model")
    rated = parser.add_mutually_exclusive_group()
    rated.add_argument(
        "--feedback",
        metavar="URL",
        help="feedback store (e.g. sqlite:///var/feedback/feedback.db): its rated answers feed "
        "the profile's preference stage",
    )
    rated.add_argument(
        "--preference",
        type=Path,
        metavar="DIR",
        help="a preference_dataset version folder (examples.jsonl + manifest.json) instead",
    )
    args = parser.parse_args(argv)

    from tqdm import tqdm

    config = load_train_config(args.config, base_model=args.base_model)
    manifest = args.dataset / "manifest.json"
    version = (
        json.loads(manifest.read_text())["version"] if manifest.exists() else args.dataset.name
    )
    bar = tqdm(unit="step")

    def show(event: dict[str, Any]) -> None:
        if event.get("event") == "preference":
            bar.write(event["message"])
            return
        if event.get("event") == "plan":
            bar.write(
                f"training {event['train_examples']} examples ({event['too_long']} too long, left out), "
                f"{event['tokens_planned']} tokens planned; {event['sample']}"
            )
            return
        bar.total = event["max_steps"]
        bar.n = event["step"]
        bar.set_postfix(loss=event.get("loss"), tok_s=round(event["tokens_per_s"]))
        bar.refresh()

    result = train_with_preference(
        config,
        args.dataset,
        args.output,
        preference_data=_preference_data(args),
        models_dir=args.models_dir,
        dataset_version=version,
        progress=show,
    )
    bar.close()
    summary = {k: v for k, v in result.to_dict().items() if k != "log_history"}
    sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
