"""One evaluation run: base vs fine-tuned adapter on a stratified sample of the test split.

`run_evaluation` loads the base once, wraps it with the adapter, answers the sample with both
(the base's answers may come from a cache: they depend only on the base, its revision, the test
sample and the decoding settings, see `base_cache_key`), compares them with paired bootstrap
intervals and returns an `EvalReport` plus the raw answers for the caller to store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from health_training.constants import EVAL_BATCH_SIZE
from health_training.ml.evaluation.answer_and_compare import (
    LOSS_DEFINITION,
    DecodingSettings,
    ModelAnswers,
    compare,
    decoding_settings,
    evaluate_adapter,
    stratified_sample,
    test_set_key,
)
from health_training.ml.evaluation.report import EvalReport

DEFAULT_EXAMPLES = 200
SAMPLES_IN_REPORT = 6


@dataclass(frozen=True)
class SplitAnswers:
    """One split's sample, its decoding settings and both models' answers."""

    rows: tuple[Mapping[str, Any], ...]
    settings: DecodingSettings
    base: ModelAnswers
    finetuned: ModelAnswers
    base_cache_key: str
    base_from_cache: bool

    def answers_doc(self) -> dict[str, Any]:
        """What is stored beside the report (eval/answers.json) for the gate to reuse."""
        from dataclasses import asdict

        return {
            "content_keys": [r["content_key"] for r in self.rows],
            "settings": self.settings.key(),
            "settings_doc": asdict(self.settings),
            "base": self.base.to_dict(),
            "finetuned": self.finetuned.to_dict(),
        }


@dataclass(frozen=True)
class EvaluationOutcome:
    report: EvalReport
    rows: tuple[Mapping[str, Any], ...]
    settings: DecodingSettings
    base: ModelAnswers
    finetuned: ModelAnswers
    base_cache_key: str
    base_from_cache: bool
    freeform: SplitAnswers | None = None  # the freeform_test split, when the dataset has one


def base_cache_key(
    base: str, revision: str | None, rows: Sequence[Mapping[str, Any]], settings: DecodingSettings
) -> str:
    """What the base model's answers depend on: nothing else may change them."""
    doc = [base, revision or "", test_set_key(rows), settings.key()]
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:20]


def run_evaluation(
    *,
    base_name: str,
    adapter_dir: Path,
    test_rows: Sequence[Mapping[str, Any]],
    models_dir: Path,
    dataset_version: str,
    finetuned_label: str,
    n_examples: int = DEFAULT_EXAMPLES,
    batch_size: int = EVAL_BATCH_SIZE,
    cached_base: Callable[[str], ModelAnswers | None] = lambda key: None,
    log: Callable[[str], None] | None = None,
    freeform_rows: Sequence[Mapping[str, Any]] = (),
    n_freeform: int = DEFAULT_EXAMPLES,
) -> EvaluationOutcome:
    """Score base and adapter on `n_examples` stratified test rows and, when given, on
    `n_freeform` rows of the freeform_test split (an equal share per question kind);
    `cached_base(key)` returns earlier base answers for that cache key, or None."""
    from peft import PeftModel

    from health_training.ml.lm.models import load_model_and_tokenizer, resolve_base_model

    rows = tuple(stratified_sample(test_rows, n_examples))
    if not rows:
        raise ValueError("the test split is empty: nothing to evaluate on")
    from health_training.ml.training.run_record import inference_dtype

    spec = resolve_base_model(base_name, models_dir)
    weights = inference_dtype()
    base, tokenizer = load_model_and_tokenizer(spec, dtype=weights)
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    settings = decoding_settings(tokenizer, rows, batch_size=batch_size, weights=weights)
    key = base_cache_key(spec.source, spec.revision, rows, settings)
    cached = cached_base(key)
    base_answers, tuned = evaluate_adapter(
        model, tokenizer, rows, settings, base_answers=cached, log=log
    )
    found = compare(rows, base_answers, tuned)
    freeform = None
    if freeform_rows:
        if log:
            log("free-form questions (freeform_test: template families never trained on)")
        freeform = _answer_split(
            model, tokenizer, spec, freeform_rows, n_freeform, settings, cached_base, log
        )
    n = len(rows)
    report = EvalReport(
        base_model=spec.source,
        finetuned_model=finetuned_label,
        dataset_version=dataset_version,
        n_examples=n,
        models={"base": found["a"], "finetuned": found["b"]},
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        generation={
            "decoding": settings.strategy,
            "max_new_tokens": settings.max_new_tokens,
            "cap": settings.cap_rule,
            "stop": settings.stop,
            "batch_size": settings.batch_size,
            "prompt_format": settings.prompt_format,
            "weights": settings.weights,
            "sample": f"{n} test examples, stratified by domain ({test_set_key(rows)})",
        },
        intervals=found["intervals"],
        seconds_per_example={
            "base": base_answers.seconds / n,
            "finetuned": tuned.seconds / n,
        },
        loss_definition=LOSS_DEFINITION,
        notes=(
            ["Base-model answers reused from the cache (same base, test sample and decoding)."]
            if cached is not None
            else []
        ),
        samples=_samples(rows, base_answers, tuned),
        freeform=_freeform_section(freeform) if freeform else None,
    )
    return EvaluationOutcome(
        report, rows, settings, base_answers, tuned, key, cached is not None, freeform
    )


def _answer_split(
    model: Any,
    tokenizer: Any,
    spec: Any,
    split_rows: Sequence[Mapping[str, Any]],
    n: int,
    settings_of: DecodingSettings,
    cached_base: Callable[[str], ModelAnswers | None],
    log: Callable[[str], None] | None,
) -> SplitAnswers:
    """Both models' answers to a stratified sample (by question kind) of another split; the
    decoding cap comes from that split's own references, the rest from `settings_of`."""
    rows = tuple(stratified_sample(split_rows, n, by="question_kind"))
    settings = decoding_settings(
        tokenizer, rows, batch_size=settings_of.batch_size, weights=settings_of.weights
    )
    key = base_cache_key(spec.source, spec.revision, rows, settings)
    cached = cached_base(key)
    base, tuned = evaluate_adapter(model, tokenizer, rows, settings, base_answers=cached, log=log)
    return SplitAnswers(rows, settings, base, tuned, key, cached is not None)


def _freeform_section(split: SplitAnswers) -> dict[str, Any]:
    """The report's free-form part: metrics per model overall and per question kind, the
    intervals of fine-tuned − base, decoding, and one answer pair per kind."""
    from health_training.ml.evaluation.freeform_eval import compare_freeform

    found = compare_freeform(split.rows, split.base, split.finetuned)
    n = len(split.rows)
    samples: dict[str, dict[str, str]] = {}
    for i, r in enumerate(split.rows):
        kind = str(r.get("question_kind") or "question")
        samples.setdefault(
            kind,
            {
                "category": kind,
                "input": f"{r['instruction']}\n{r.get('input') or ''}".strip()[:400],
                "reference": str(r["output"])[:500],
                "base": split.base.predictions[i][:500],
                "finetuned": split.finetuned.predictions[i][:500],
            },
        )
    return {
        "n_examples": n,
        "models": {"base": found["a"], "finetuned": found["b"]},
        "intervals": found["intervals"],
        "generation": {
            "max_new_tokens": split.settings.max_new_tokens,
            "cap": split.settings.cap_rule,
            "stop": split.settings.stop,
            "sample": f"{n} freeform_test examples, stratified by question kind "
            f"({test_set_key(split.rows)})",
        },
        "seconds_per_example": {
            "base": split.base.seconds / n,
            "finetuned": split.finetuned.seconds / n,
        },
        "samples": list(samples.values()),
    }


def _samples(
    rows: Sequence[Mapping[str, Any]], base: ModelAnswers, tuned: ModelAnswers
) -> list[dict[str, str]]:
    """One answer pair per domain (test text is PHI-scrubbed upstream), first few domains."""
    seen: dict[str, dict[str, str]] = {}
    for i, r in enumerate(rows):
        category = str(r.get("category") or "uncategorized")
        if category not in seen and len(seen) < SAMPLES_IN_REPORT:
            seen[category] = {
                "category": category,
                "input": str(r.get("input") or "")[:400],
                "reference": str(r["output"])[:700],
                "base": base.predictions[i][:700],
                "finetuned": tuned.predictions[i][:700],
            }
    return list(seen.values())
