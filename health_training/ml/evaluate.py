"""Evaluate the base model and the fine-tuned adapter side by side on the frozen test split.

One model in memory: the base is the adapter model with its adapter disabled, so both are
scored on exactly the same weights, prompts and decoding. Loss and perplexity are computed on
the response tokens only, as in training; generation is greedy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelScores:
    eval_loss: float
    perplexity: float
    predictions: tuple[str, ...]
    seconds: float


def _loss(
    model: Any, tokenizer: Any, rows: Sequence[Mapping[str, Any]], max_length: int, batch_size: int
) -> float:
    import torch

    from health_training.ml.packing import collate, encode_rows, pack

    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    data = pack(encode_rows(tokenizer, rows), max_length, pad_id)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(data.rows), batch_size):
            batch = collate(data.rows[i : i + batch_size])
            logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
            labels = batch["labels"][:, 1:]
            losses = torch.nn.functional.cross_entropy(
                logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                labels.reshape(-1),
                ignore_index=-100,
                reduction="sum",
            )
            total += float(losses)
            count += int((labels != -100).sum())
    return total / count if count else float("nan")


def _generate(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    max_new_tokens: int,
    batch_size: int,
) -> list[str]:
    import torch

    from health_training.ml.prompts import render_prompt

    tokenizer.padding_side = "left"  # decoder-only generation pads on the left
    outputs: list[str] = []
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        prompts = [render_prompt(tokenizer, r["instruction"], r.get("input") or "") for r in chunk]
        enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        for row in out[:, enc["input_ids"].shape[1] :]:
            outputs.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    return outputs


def score_model(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    max_length: int,
    max_new_tokens: int,
    batch_size: int = 4,
) -> ModelScores:
    t0 = time.monotonic()
    model.eval()
    loss = _loss(model, tokenizer, rows, max_length, batch_size)
    predictions = _generate(model, tokenizer, rows, max_new_tokens, batch_size)
    return ModelScores(
        loss,
        math.exp(loss) if loss < 50 else float("inf"),
        tuple(predictions),
        time.monotonic() - t0,
    )


def evaluate_adapter(
    base_dir_or_spec: Any,
    adapter_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    *,
    models_dir: Path,
    max_length: int = 512,
    max_new_tokens: int = 128,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Loss, perplexity and text metrics of base vs fine-tuned on `rows` (test split rows)."""
    from peft import PeftModel

    from health_training.ml.metrics import score_predictions
    from health_training.ml.models import load_model_and_tokenizer, resolve_base_model

    spec = (
        resolve_base_model(base_dir_or_spec, models_dir)
        if isinstance(base_dir_or_spec, str)
        else base_dir_or_spec
    )
    base, tokenizer = load_model_and_tokenizer(spec)
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    with model.disable_adapter():
        base_scores = score_model(
            model, tokenizer, rows, max_length=max_length, max_new_tokens=max_new_tokens
        )
    if log:
        log(f"base model scored in {base_scores.seconds:.0f}s (loss {base_scores.eval_loss:.3f})")
    tuned_scores = score_model(
        model, tokenizer, rows, max_length=max_length, max_new_tokens=max_new_tokens
    )
    if log:
        log(
            f"fine-tuned model scored in {tuned_scores.seconds:.0f}s (loss {tuned_scores.eval_loss:.3f})"
        )
    results: dict[str, Any] = {}
    for name, scores in (("base", base_scores), ("fine_tuned", tuned_scores)):
        table = [
            {
                "prediction": p,
                "reference": r["output"],
                "input": r.get("input") or "",
                "category": r.get("category") or "unknown",
            }
            for p, r in zip(scores.predictions, rows, strict=True)
        ]
        results[name] = {
            "eval_loss": scores.eval_loss,
            "perplexity": scores.perplexity,
            "seconds": scores.seconds,
            "metrics": score_predictions(table),
            "predictions": list(scores.predictions),
        }
    return results
