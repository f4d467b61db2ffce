"""Text metrics for generated answers: SQuAD exact match and token F1, corpus BLEU (sacrebleu),
ROUGE-1/2/L (rouge-score), number faithfulness (faithfulness.py), fact accuracy and recall
(statements.py), a PHI regurgitation probe, the end-of-sequence rate and the reference loss.
`example_stats` turns each answer into per-example statistics from which `aggregate` computes
every metric of a group, and `bootstrap.py` its confidence intervals; `score_predictions` rolls
them up overall and per health domain. Hugging Face `evaluate` is not used: its metric scripts
live on the hub, which is offline here, and sacrebleu / rouge-score are what those scripts wrap.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

# ------------------------------------------------------------------ SQuAD v1.1


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (SQuAD v1.1)."""

    def remove_articles(text: str) -> str:
        return re.sub(r"\b(a|an|the)\b", " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def exact_match(pred: str, ref: str) -> float:
    return float(normalize_answer(pred) == normalize_answer(ref))


def token_f1(pred: str, ref: str) -> float:
    """Bag-of-tokens F1 after normalization; 0 when nothing is shared (two empties included,
    as in the v1.1 script)."""
    pred_tokens = normalize_answer(pred).split()
    ref_tokens = normalize_answer(ref).split()
    num_same = sum((Counter(pred_tokens) & Counter(ref_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


# ------------------------------------------------------------------ BLEU / ROUGE


def _check_pairs(preds: Sequence[str], refs: Sequence[str]) -> None:
    if len(preds) != len(refs):
        raise ValueError(f"{len(preds)} predictions but {len(refs)} references")


def bleu(preds: Sequence[str], refs: Sequence[str]) -> float:
    """Corpus BLEU, 0-100, one reference per prediction; 0 for an empty corpus."""
    import sacrebleu

    _check_pairs(preds, refs)
    if not preds:
        return 0.0
    return float(sacrebleu.corpus_bleu(list(preds), [list(refs)]).score)


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def rouge(preds: Sequence[str], refs: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measures (0-1, Porter stemming); zeros for an empty corpus."""
    _check_pairs(preds, refs)
    totals = dict.fromkeys(("rouge1", "rouge2", "rougeL"), 0.0)
    scorer = _rouge_scorer()
    for pred, ref in zip(preds, refs, strict=True):
        scores = scorer.score(ref, pred)  # rouge-score takes (target, prediction)
        for key in totals:
            totals[key] += scores[key].fmeasure
    return {k: v / len(preds) if preds else 0.0 for k, v in totals.items()}


# ------------------------------------------------------------------ PHI probe


def phi_regurgitation(outputs: Sequence[str]) -> dict[str, Any]:
    """PHI in generated text: outputs with any finding, their rate, and findings per kind.
    Placeholders such as "[NAME]" are not PHI and are not counted."""
    from health_training.data.phi import find_phi

    by_kind: Counter[str] = Counter()
    with_phi = 0
    for text in outputs:
        findings = find_phi(text)
        with_phi += bool(findings)
        by_kind.update(f.kind for f in findings)
    n = len(outputs)
    return {
        "n": n,
        "with_phi": with_phi,
        "rate": with_phi / n if n else 0.0,
        "by_kind": dict(sorted(by_kind.items())),
    }


# ------------------------------------------------------------------ per-example statistics

# Every metric is a function of per-example statistics summed over a group (see bootstrap.py):
# means are (value, 1), pooled rates (count, total), BLEU sacrebleu's n-gram counts.
METRIC_KEYS: tuple[str, ...] = (
    "eval_loss", "exact_match", "f1", "bleu", "rouge1", "rouge2", "rougeL",
    "hallucinated_number_rate", "fact_accuracy", "fact_recall", "phi_rate", "eos_rate",
)  # fmt: skip
LOWER_IS_BETTER = frozenset({"eval_loss", "perplexity", "hallucinated_number_rate", "phi_rate"})
Stats = dict[str, tuple[float, ...]]


def _bleu_stats(preds: Sequence[str], refs: Sequence[str]) -> list[tuple[float, ...]]:
    from sacrebleu.metrics import BLEU

    if not preds:
        return []
    return [tuple(map(float, s)) for s in BLEU()._extract_corpus_statistics(preds, [refs])]


def bleu_statistic(summed: Any) -> Any:
    """Corpus BLEU (0-100) from summed sacrebleu statistics [sys_len, ref_len, correct 1-4,
    total 1-4]; works on one vector or a matrix of resampled sums."""
    import numpy as np
    from sacrebleu.metrics import BLEU

    rows = np.atleast_2d(summed)
    out = np.array(
        [
            BLEU.compute_bleu(
                list(r[2:6]), list(r[6:10]), int(r[0]), int(r[1]), smooth_method="exp"
            ).score
            if r[0] > 0
            else np.nan
            for r in rows
        ]
    )
    return out if np.ndim(summed) > 1 else out[0]


def example_stats(rows: Sequence[Mapping[str, Any]]) -> list[Stats]:
    """Per-example statistics of each metric for rows holding `prediction` and `reference`, and
    optionally `instruction`/`input` (the source of numbers), `facts` (the source facts),
    `loss_sum`/`loss_tokens` (the reference's token loss) and `ended_by_eos`."""
    from health_training.data.phi import find_phi
    from health_training.ml.evaluation.faithfulness import factual_consistency
    from health_training.ml.evaluation.statements import score_facts

    for i, row in enumerate(rows):
        for key in ("prediction", "reference"):
            if key not in row:
                raise KeyError(f"row {i}: field {key!r} is missing (have {sorted(row)})")
    preds = [str(r["prediction"]) for r in rows]
    refs = [str(r["reference"]) for r in rows]
    bleus = _bleu_stats(preds, refs)
    scorer = _rouge_scorer()
    out: list[Stats] = []
    for row, pred, ref, bleu_row in zip(rows, preds, refs, bleus, strict=True):
        source = f"{row.get('instruction') or ''}\n{row.get('input') or ''}"
        numbers = factual_consistency(pred, source)
        rouges = scorer.score(ref, pred)  # rouge-score takes (target, prediction)
        stats: Stats = {
            "exact_match": (exact_match(pred, ref), 1.0),
            "f1": (token_f1(pred, ref), 1.0),
            "bleu": bleu_row,
            **{k: (rouges[k].fmeasure, 1.0) for k in ("rouge1", "rouge2", "rougeL")},
            # Pooled over all numbers of a group: an answer with many numbers weighs more.
            "hallucinated_number_rate": (numbers.hallucinated, numbers.numbers_in_answer),
            "phi_rate": (float(bool(find_phi(pred))), 1.0),
        }
        facts = row.get("facts")
        if isinstance(facts, Mapping) and facts:
            fs = score_facts(pred, facts, ref)
            stats["fact_accuracy"] = (fs.correct, fs.statements)
            stats["fact_recall"] = (fs.recalled, fs.reference_facts)
        if row.get("loss_tokens"):
            stats["eval_loss"] = (float(row["loss_sum"]), float(row["loss_tokens"]))
        if row.get("ended_by_eos") is not None:
            stats["eos_rate"] = (float(bool(row["ended_by_eos"])), 1.0)
        out.append(stats)
    return out


def statistic_for(metric: str) -> Any:
    from health_training.ml.evaluation.bootstrap import ratio

    return bleu_statistic if metric == "bleu" else ratio


def aggregate(
    stats: Sequence[Stats], keys: Sequence[str] = METRIC_KEYS
) -> dict[str, float | int | None]:
    """Each metric over a group of examples (None when no example has it, or 0/0)."""
    import numpy as np

    out: dict[str, float | int | None] = {"n": len(stats)}
    for metric in keys:
        rows = [s[metric] for s in stats if metric in s]
        if not rows:
            continue
        value = statistic_for(metric)(np.asarray(rows, dtype=float).sum(0))
        out[metric] = float(value) if np.isfinite(value) else None
    if "eval_loss" in out and out["eval_loss"] is not None:
        out["perplexity"] = math.exp(out["eval_loss"]) if out["eval_loss"] < 50 else None
    out["numbers_in_answers"] = int(
        sum(s["hallucinated_number_rate"][1] for s in stats if "hallucinated_number_rate" in s)
    )
    return out


def score_predictions(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`{"overall": metrics, "per_category": {category: metrics}}` (see `example_stats` for the
    row fields; missing category: "uncategorized").

    EM, F1, ROUGE are means over answers (0-1); BLEU is corpus BLEU (0-100);
    `hallucinated_number_rate` is hallucinated numbers / numbers in answers; fact accuracy and
    recall are pooled over statements and reference facts (statements.py); `phi_rate` is the
    share of answers with any PHI finding; `eval_loss` the mean token loss of the reference
    answers (response tokens and EOS, as in training)."""
    stats = example_stats(rows)
    groups: defaultdict[str, list[Stats]] = defaultdict(list)
    for row, s in zip(rows, stats, strict=True):
        groups[str(row.get("category") or "uncategorized")].append(s)
    return {
        "overall": aggregate(stats),
        "per_category": {cat: aggregate(groups[cat]) for cat in sorted(groups)},
    }


# Kept importable from here: the number rule moved to faithfulness.py.
from health_training.ml.evaluation.faithfulness import (  # noqa: E402
    FactualScore,
    Quantity,
    extract_quantities,
    factual_consistency,
)

__all__ = [
    "METRIC_KEYS",
    "FactualScore",
    "Quantity",
    "aggregate",
    "bleu",
    "example_stats",
    "exact_match",
    "extract_quantities",
    "factual_consistency",
    "phi_regurgitation",
    "rouge",
    "score_predictions",
    "token_f1",
]
