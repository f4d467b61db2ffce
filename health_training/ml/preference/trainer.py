"""The DPO or KTO pass itself: rated answers → TRL rows → `trl.KTOTrainer` / `trl.DPOTrainer`.

The model handed in is the SFT adapter loaded *trainable* on its base. TRL copies that adapter
into a frozen `ref` adapter before the first step and computes the reference log-probabilities
with it, so the reference is exactly the adapter's own starting point; only the `default`
adapter is saved. Prompts are rendered with the training template (`prompts.render_prompt`), so
the preference pass sees what SFT and serving see; examples longer than `max_length` are counted
and left out, never cut (as in SFT).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from health_training.data.records import normalize_text
from health_training.ml.preference.config import PreferenceSettings
from health_training.ml.preference.examples import PreferenceExample

ProgressFn = Callable[[dict[str, Any]], None]
BALANCED_RATIO = 7 / 6  # desirable : undesirable loss mass, mid-way in the KTO paper's [1, 4/3]


@dataclass(frozen=True, slots=True)
class PreferenceRow:
    """One training row before rendering: KTO (completion, label) or DPO (chosen, rejected)."""

    key: str
    instruction: str
    input: str
    completion: str = ""
    label: bool | None = None
    chosen: str = ""
    rejected: str = ""


def preference_rows(
    examples: Sequence[PreferenceExample], method: str, *, seed: int = 42
) -> list[PreferenceRow]:
    """What the method learns from, in a seeded order that mixes labels and prompts.

    KTO takes every rated answer and both sides of every pair (chosen: desirable, rejected:
    undesirable), each answer once; an answer labelled both ways is dropped. DPO takes the pairs.
    """
    rows: dict[tuple[str, str], PreferenceRow] = {}
    conflicts: set[tuple[str, str]] = set()
    for e in examples:
        if method == "dpo":
            if e.kind == "dpo":
                rows[(e.key, "")] = PreferenceRow(
                    e.key, e.instruction, e.input, chosen=e.chosen, rejected=e.rejected
                )
            continue
        sides = (
            [(e.completion, bool(e.desirable))]
            if e.kind == "kto"
            else [(e.chosen, True), (e.rejected, False)]
        )
        for text, label in sides:
            at = (e.prompt_key, normalize_text(text))
            known = rows.get(at)
            if known is not None and known.label != label:
                conflicts.add(at)
            key = hashlib.sha256(f"{at[0]}\x1f{at[1]}\x1f{label}".encode()).hexdigest()
            rows.setdefault(at, PreferenceRow(key, e.instruction, e.input, text, label))
    kept = [row for at, row in rows.items() if at not in conflicts]

    def order(row: PreferenceRow) -> str:
        return hashlib.blake2b(f"{seed}\x1f{row.key}".encode(), digest_size=8).hexdigest()

    return sorted(kept, key=order)


def class_weights(
    rows: Sequence[PreferenceRow], settings: PreferenceSettings
) -> tuple[float, float]:
    """(desirable_weight, undesirable_weight); balanced so the larger class does not dominate."""
    if not settings.balance_classes:
        return settings.desirable_weight, settings.undesirable_weight
    good = sum(1 for r in rows if r.label)
    bad = len(rows) - good
    if not good or not bad:
        return 1.0, 1.0
    if good >= bad:
        return min(1.0, bad / good * BALANCED_RATIO), 1.0
    return 1.0, min(1.0, good / bad / BALANCED_RATIO)


def fits(tokenizer: Any, row: PreferenceRow, max_length: int) -> bool:
    """Prompt + every completion + EOS within `max_length` tokens."""
    from health_training.ml.lm.prompts import encode_example

    texts = [row.completion] if row.label is not None else [row.chosen, row.rejected]
    return all(
        len(encode_example(tokenizer, row.instruction, row.input, t).input_ids) <= max_length
        for t in texts
    )


def _hf_dataset(tokenizer: Any, rows: Sequence[PreferenceRow]) -> Any:
    from datasets import Dataset

    from health_training.ml.lm.prompts import render_prompt

    def prompt(r: PreferenceRow) -> str:
        return render_prompt(tokenizer, r.instruction, r.input)

    if rows and rows[0].label is None:
        data = [{"prompt": prompt(r), "chosen": r.chosen, "rejected": r.rejected} for r in rows]
    else:
        data = [{"prompt": prompt(r), "completion": r.completion, "label": r.label} for r in rows]
    return Dataset.from_list(data)


def fit(
    model: Any,
    tokenizer: Any,
    rows: Sequence[PreferenceRow],
    settings: PreferenceSettings,
    *,
    checkpoints_dir: str,
    max_length: int,
    gradient_checkpointing: bool,
    precision: str,
    resume_from: str | None = None,
    progress: ProgressFn | None = None,
    on_checkpoint: Callable[[str, int], None] | None = None,
) -> tuple[Any, Any]:
    """Train the `default` adapter of `model` on `rows`; (TRL trainer, TrainOutput)."""
    from transformers import PrinterCallback, TrainerCallback

    from health_training.ml.training.run_record import precision_arguments

    common = dict(
        output_dir=checkpoints_dir,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.grad_accum,
        learning_rate=settings.learning_rate,
        warmup_steps=float(settings.warmup_ratio),  # transformers 5: a float in [0, 1) is a ratio
        lr_scheduler_type=settings.lr_scheduler,
        beta=settings.beta,
        max_length=max_length,
        # TRL turns bf16 on by default: ours follows the hardware rule.
        **precision_arguments(precision),
        gradient_checkpointing=gradient_checkpointing,
        logging_steps=1,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        report_to="none",
        seed=settings.seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    if settings.method == "kto":
        from trl import KTOConfig, KTOTrainer

        good, bad = class_weights(rows, settings)
        args = KTOConfig(**common, desirable_weight=good, undesirable_weight=bad)
        trainer_class: Any = KTOTrainer
    else:
        from trl import DPOConfig, DPOTrainer

        args, trainer_class = DPOConfig(**common), DPOTrainer

    class _Progress(TrainerCallback):
        """Step, loss, reward margin, tokens/s and ETA; checkpoints handed to `on_checkpoint`."""

        def __init__(self) -> None:
            self.t0, self.first = time.monotonic(), None

        def on_log(self, args, state, control, logs=None, **kwargs):
            if progress is None or not logs or "loss" not in logs:
                return
            self.first = state.global_step - 1 if self.first is None else self.first
            done, elapsed = state.global_step - self.first, time.monotonic() - self.t0
            tokens = float(logs.get("num_tokens", 0.0))
            progress(
                {
                    "stage": "preference",
                    "step": state.global_step,
                    "max_steps": state.max_steps,
                    "tokens_per_s": tokens / elapsed if elapsed > 0 else 0.0,
                    "eta_s": elapsed / done * (state.max_steps - state.global_step)
                    if done
                    else None,
                    **{k: v for k, v in logs.items() if isinstance(v, int | float)},
                }
            )

        def on_save(self, args, state, control, **kwargs):
            if on_checkpoint is not None:
                on_checkpoint(
                    f"{checkpoints_dir}/checkpoint-{state.global_step}", state.global_step
                )

    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=_hf_dataset(tokenizer, rows),
        processing_class=tokenizer,
        callbacks=[_Progress()],
    )
    # With tqdm off, transformers prints every log dict to stdout; `progress` reports instead.
    trainer.remove_callback(PrinterCallback)
    output = trainer.train(resume_from_checkpoint=resume_from)
    return trainer, output
