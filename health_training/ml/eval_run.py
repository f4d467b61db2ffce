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

from health_training.ml.evaluation import (
    LOSS_DEFINITION,
    DecodingSettings,
    ModelAnswers,
    compare,
    decoding_settings,
    evaluate_adapter,
    stratified_sample,
    test_set_key,
)
from health_training.ml.report import EvalReport

DEFAULT_EXAMPLES = 200
SAMPLES_IN_REPORT = 6


@dataclass(frozen=True)
class EvaluationOutcome:
    report: EvalReport
    rows: tuple[Mapping[str, Any], ...]
    settings: DecodingSettings
    base: ModelAnswers
    finetuned: ModelAnswers
    base_cache_key: str
    base_from_cache: bool


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
    batch_size: int = 16,
    cached_base: Callable[[str], ModelAnswers | None] = lambda key: None,
    log: Callable[[str], None] | None = None,
) -> EvaluationOutcome:
    """Score base and adapter on `n_examples` stratified test rows; `cached_base(key)` returns
    earlier base answers for that cache key, or None."""
    from peft import PeftModel

    from health_training.ml.models import load_model_and_tokenizer, resolve_base_model

    rows = tuple(stratified_sample(test_rows, n_examples))
    if not rows:
        raise ValueError("the test split is empty: nothing to evaluate on")
    spec = resolve_base_model(base_name, models_dir)
    base, tokenizer = load_model_and_tokenizer(spec)
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    settings = decoding_settings(tokenizer, rows, batch_size=batch_size)
    key = base_cache_key(spec.source, spec.revision, rows, settings)
    cached = cached_base(key)
    base_answers, tuned = evaluate_adapter(
        model, tokenizer, rows, settings, base_answers=cached, log=log
    )
    found = compare(rows, base_answers, tuned)
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
    )
    return EvaluationOutcome(report, rows, settings, base_answers, tuned, key, cached is not None)


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
