"""Evaluate a fine-tuned adapter against its base (or another adapter) on the frozen test split.

    rows     = stratified_sample(test_rows, 200)              # equal share per health domain
    settings = decoding_settings(tokenizer, rows)              # greedy, EOS, cap from references
    answers  = answer(model, tokenizer, rows, settings)        # loss + greedy answers, one pass
    report   = compare(rows, base_answers, tuned_answers)      # metrics + paired bootstrap CIs

One loss definition everywhere (run log, report, MLflow): the *response-token loss*, the mean
cross-entropy over the reference answer's tokens and its EOS, the prompt masked, exactly as
training computes it (`LOSS_DEFINITION`). Generation is greedy with a KV cache and stops at EOS;
its length cap comes from the references (their 99th percentile in tokens plus a margin) so no
metric is deflated by truncation, and an answer that starts repeating itself verbatim ends there.
The base is the adapter model with its adapter disabled, so both are scored on the same weights,
prompts and decoding (the same rules end both models' answers).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from health_training.constants import EVAL_BATCH_SIZE

LOSS_DEFINITION = (
    "response-token loss: mean cross-entropy over the reference answer's tokens and its EOS, "
    "prompt masked (the training objective)"
)
CAP_PERCENTILE = 99
CAP_MARGIN = 16  # tokens beyond the references' 99th percentile
# An answer whose last 16 tokens repeat a span it already wrote is in a verbatim loop: it ends
# there (the repeat cut). Base models loop to the cap; no reference of the test splits repeats
# 12 tokens, so a model that writes like them is never cut (bench/README.md, decoding).
REPEAT_STOP = 16


@dataclass(frozen=True, slots=True)
class DecodingSettings:
    """How answers are generated; recorded in the report and part of the base-scores cache key."""

    max_new_tokens: int
    batch_size: int = EVAL_BATCH_SIZE
    strategy: str = "greedy"
    stop: str = f"eos, or a repeat of {REPEAT_STOP} tokens the answer already wrote (cut there)"
    prompt_format: str = ""
    cap_rule: str = f"p{CAP_PERCENTILE} of reference lengths + {CAP_MARGIN} tokens"
    repeat_stop: int = REPEAT_STOP  # 0: only EOS and the cap end an answer
    weights: str = "float32"  # the dtype both models answer in (run_record.inference_dtype)

    def key(self) -> str:
        # In fp32 the batch size changes no greedy answer: it stays out of the identity. In bf16
        # it moves a few (demo runs 7 and 8: 1 of 34 computations), so there it is part of it.
        doc = asdict(self)
        if self.weights == "float32":
            doc.pop("batch_size")
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ModelAnswers:
    """One model's answers to the evaluation rows, in row order, and what they cost."""

    predictions: tuple[str, ...]
    loss_sum: tuple[float, ...]
    loss_tokens: tuple[int, ...]
    ended_by_eos: tuple[bool, ...]
    new_tokens: tuple[int, ...]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> ModelAnswers:
        return ModelAnswers(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def stratified_sample(
    rows: Sequence[Mapping[str, Any]], n: int, *, by: str = "category"
) -> list[Mapping[str, Any]]:
    """`n` rows (or all), an equal share per value of `by` (the health domain) in turn, each
    group's rows in content key order: the same test split always gives the same sample."""
    by_category: defaultdict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: str(r["content_key"])):
        by_category[str(row.get(by) or "uncategorized")].append(row)
    picked: list[Mapping[str, Any]] = []
    depth = 0
    while len(picked) < min(n, len(rows)):
        for category in sorted(by_category):
            if depth < len(by_category[category]) and len(picked) < n:
                picked.append(by_category[category][depth])
        depth += 1
    return picked


def test_set_key(rows: Sequence[Mapping[str, Any]]) -> str:
    """Identity of an evaluation sample: the hash of its content keys in order."""
    joined = "\n".join(str(r["content_key"]) for r in rows)
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def encode_for_eval(
    tokenizer: Any, rows: Sequence[Mapping[str, Any]]
) -> tuple[list[list[int]], list[list[int]]]:
    """Prompt ids and reference ids (+ EOS) with the training template (prompts.py)."""
    from health_training.ml.lm.prompts import encode_example

    prompts, references = [], []
    for r in rows:
        encoded = encode_example(tokenizer, r["instruction"], r.get("input") or "", r["output"])
        start = encoded.labels.index(next(x for x in encoded.labels if x != -100))
        prompts.append(encoded.input_ids[:start])
        references.append(encoded.input_ids[start:])
    return prompts, references


def decoding_settings(
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    *,
    batch_size: int = EVAL_BATCH_SIZE,
    weights: str = "float32",
) -> DecodingSettings:
    """Greedy to EOS, capped at the references' 99th percentile length plus a margin."""
    from health_training.ml.lm.prompts import prompt_format

    _, references = encode_for_eval(tokenizer, rows)
    lengths = sorted(len(r) for r in references)
    p99 = lengths[min(len(lengths) - 1, math.ceil(CAP_PERCENTILE / 100 * len(lengths)) - 1)]
    return DecodingSettings(
        max_new_tokens=p99 + CAP_MARGIN,
        batch_size=batch_size,
        prompt_format=prompt_format(tokenizer),
        weights=weights,
    )


def answer(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    settings: DecodingSettings,
) -> ModelAnswers:
    """The reference loss and the greedy answer of every row (one forward pass shared)."""
    from health_training.ml.lm.decoding import decode_all

    prompts, references = encode_for_eval(tokenizer, rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    started = time.monotonic()
    model.eval()
    decoded = decode_all(
        model,
        prompts,
        references,
        max_new_tokens=settings.max_new_tokens,
        eos_ids=eos_token_ids(model, tokenizer),
        pad_id=pad,
        batch_size=settings.batch_size,
        repeat_stop=settings.repeat_stop,
    )
    return ModelAnswers(
        predictions=tuple(
            tokenizer.decode(d.answer_ids, skip_special_tokens=True).strip() for d in decoded
        ),
        loss_sum=tuple(d.loss_sum for d in decoded),
        loss_tokens=tuple(d.loss_tokens for d in decoded),
        ended_by_eos=tuple(d.ended_by_eos for d in decoded),
        new_tokens=tuple(len(d.answer_ids) + int(d.ended_by_eos) for d in decoded),
        seconds=time.monotonic() - started,
    )


def eos_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """The tokenizer's EOS and any the generation config adds (e.g. an end-of-turn token)."""
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    return sorted(i for i in ids if i is not None)


def scored_rows(rows: Sequence[Mapping[str, Any]], answers: ModelAnswers) -> list[dict[str, Any]]:
    """Test rows joined with one model's answers, in the shape `metrics.example_stats` reads."""
    out = []
    for i, r in enumerate(rows):
        raw = r.get("metadata_json")
        meta = json.loads(raw) if isinstance(raw, str) else r
        facts = meta.get("facts")
        out.append(
            {
                "question_kind": r.get("question_kind") or meta.get("question_kind"),
                "asked": meta.get("asked") or [],
                "cannot_answer": bool(meta.get("cannot_answer")),
                "content_key": r["content_key"],
                "category": r.get("category") or "uncategorized",
                "instruction": r["instruction"],
                "input": r.get("input") or "",
                "reference": r["output"],
                "facts": facts,
                "prediction": answers.predictions[i],
                "loss_sum": answers.loss_sum[i],
                "loss_tokens": answers.loss_tokens[i],
                "ended_by_eos": answers.ended_by_eos[i],
            }
        )
    return out


def compare(
    rows: Sequence[Mapping[str, Any]],
    a: ModelAnswers,
    b: ModelAnswers,
    *,
    resamples: int = 1000,
    stats_of: Callable[[list[dict[str, Any]]], list[Any]] | None = None,
    metric_keys: Sequence[str] | None = None,
    group_by: str = "category",
) -> dict[str, Any]:
    """Metrics of model a and model b on the same rows, overall and per group (`group_by`, the
    health domain by default), with the paired bootstrap 95 % interval of every difference
    b − a (seeded: deterministic). `stats_of`/`metric_keys`: another metric set over the same
    scored rows (the free-form questions' metrics, freeform_eval.py)."""
    from health_training.ml.evaluation.bootstrap import compare_groups
    from health_training.ml.evaluation.text_metrics import (
        METRIC_KEYS,
        aggregate,
        example_stats,
        statistic_for,
    )

    stats_of = stats_of or example_stats
    keys = tuple(metric_keys or METRIC_KEYS)
    stats_a, stats_b = stats_of(scored_rows(rows, a)), stats_of(scored_rows(rows, b))
    groups: defaultdict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[str(r.get(group_by) or "uncategorized")].append(i)

    def intervals(index: Sequence[int]) -> dict[str, dict[str, Any]]:
        metrics = [m for m in keys if all(m in stats_a[i] and m in stats_b[i] for i in index)]
        found = compare_groups(
            {m: [stats_a[i][m] for i in index] for m in metrics},
            {m: [stats_b[i][m] for i in index] for m in metrics},
            {m: statistic_for(m) for m in metrics},
            resamples=resamples,
        )
        return {m: iv.to_dict() for m, iv in found.items()}

    def summary(stats: list[Any]) -> dict[str, Any]:
        return {
            "overall": aggregate(stats, keys),
            "per_category": {
                c: aggregate([stats[i] for i in ix], keys) for c, ix in groups.items()
            },
        }

    everything = list(range(len(rows)))
    return {
        "a": summary(stats_a),
        "b": summary(stats_b),
        "intervals": {
            "overall": intervals(everything),
            "per_category": {c: intervals(ix) for c, ix in sorted(groups.items())},
        },
    }


def evaluate_adapter(
    model: Any,
    tokenizer: Any,
    rows: Sequence[Mapping[str, Any]],
    settings: DecodingSettings,
    *,
    base_answers: ModelAnswers | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[ModelAnswers, ModelAnswers]:
    """(base answers, fine-tuned answers) of a PeftModel; `base_answers` from a cache skip the
    base pass. The adapter is merged for its pass and unmerged exactly afterwards (`merged`)."""
    if base_answers is None:
        with model.disable_adapter():
            base_answers = answer(model, tokenizer, rows, settings)
        if log:
            log(_summary("base model", base_answers))
    elif log:
        log("base model scores reused from the cache (same base, test set and decoding)")
    from health_training.ml.lm.merge import merged

    with merged(model):
        tuned = answer(model, tokenizer, rows, settings)
    if log:
        log(_summary("fine-tuned model", tuned))
    return base_answers, tuned


def _summary(name: str, answers: ModelAnswers) -> str:
    n = len(answers.predictions)
    tokens = sum(answers.loss_tokens)
    loss = sum(answers.loss_sum) / tokens if tokens else float("nan")
    ended = sum(answers.ended_by_eos)
    return (
        f"{name}: {n} answers in {answers.seconds:.0f} s ({answers.seconds / max(n, 1):.2f} s "
        f"each), response-token loss {loss:.3f}, {ended}/{n} ended by EOS"
    )
