"""Text metrics for generated answers: SQuAD exact match and token F1, corpus BLEU (sacrebleu),
ROUGE-1/2/L (rouge-score), a factual-consistency check of the numbers in an answer against its
input, and a PHI regurgitation probe. `score_predictions` rolls them up overall and per health
domain. Hugging Face `evaluate` is not used: its metric scripts live on the hub, which is offline
here, and sacrebleu / rouge-score are what those scripts wrap.

Factual consistency, the rule: every number in the answer (with its unit when one follows it) is
*supported* when the input holds a number that
  * equals it after rounding the input's value to the answer's precision (answer 142 is supported
    by 142.0 and by 141.6; 71% by 71.3%; answer 71.3 is *not* supported by 71),
  * and has the same unit, or a convertible one (hours and minutes: "7.8 h" is supported by
    "467 min"), or either side has no unit. A clock time ("08:15") only matches a clock time.
There is no list of well-known clinical values: "70" and "180" of "70-180 mg/dL" are supported
only when the input itself holds them, and numbers the model derives by arithmetic count as
hallucinated. Dates (2025-01-03) are ignored on both sides. "1,234" is 1234; a range "70-180" or
"120/80 mmHg" is two numbers, the unit after the second applying to both; "7 h 47 min" is one
duration of 467 min in the answer (the input also offers its parts, 7 h and 47 min). An unsigned
number in the answer may restate a negative one ("fell by 1.7 ms" for a trend of -1.7 ms): the
check does not read the direction words.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
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


# ------------------------------------------------------------------ factual consistency


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number as written, with its canonical unit ("time" for a clock time in minutes after
    midnight). `decimals` is the written precision; it does not take part in equality."""

    value: float
    unit: str | None
    decimals: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class FactualScore:
    numbers_in_answer: int
    supported: int
    hallucinated: int
    hallucinated_rate: float  # hallucinated / numbers_in_answer; 0 when there are none
    hallucinated_values: tuple[Quantity, ...] = ()


# (canonical unit, spellings); the regex tries them in this order.
_UNITS = (
    ("mg/dL", r"mg\s?/\s?dl"),
    ("mmHg", r"mm\s?hg"),
    ("bpm", r"bpm|beats\s+per\s+minute|beats/min"),
    ("ms", r"milliseconds?|msec|ms"),
    ("%", r"%|percent|per\s+cent"),
    ("h", r"hours?|hrs?|h"),
    ("min", r"minutes?|mins?"),
    ("steps", r"steps?"),
    ("kcal", r"kcal|kilocalories|calories|cal"),
)
_UNIT_OF = {f"u{i}": unit for i, (unit, _) in enumerate(_UNITS)}
_UNIT_RE = "|".join(f"(?P<u{i}>{spellings})" for i, (_, spellings) in enumerate(_UNITS))
_TOKEN = re.compile(
    # Dates first so that their parts never read as numbers or ranges.
    r"(?P<date>(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|(?:19|20)\d\d-(?:0[1-9]|1[0-2]))"
    r"(?![\d/-]))"
    r"|(?P<time>(?<![\d:.])(?P<hh>[01]?\d|2[0-3]):(?P<mm>[0-5]\d)(?!\d|:\d)"
    r"(?:\s?(?P<ampm>[ap])\.?m\b\.?)?)"
    r"|(?<![\w.])(?P<sign>[-\u2212])?(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?P<frac>\.\d+)?"
    rf"(?:st|nd|rd|th)?(?:(?:\s?|-)(?:{_UNIT_RE})(?![a-z]))?",
    re.IGNORECASE,
)
_RANGE_GAP = re.compile(r"\s*(?:[-\u2212\u2013\u2014/]|to)\s*", re.IGNORECASE)
_DURATION_GAP = re.compile(r"\s*(?:and\s+)?", re.IGNORECASE)
_TO_MINUTES = {"h": 60.0, "min": 1.0}


def _scan(text: str) -> list[tuple[int, int, Quantity]]:
    """(start, end, quantity) of every number and clock time in order; dates are skipped."""
    out: list[tuple[int, int, Quantity]] = []
    for m in _TOKEN.finditer(text):
        if m["date"]:
            continue
        if m["time"]:
            hour = int(m["hh"])
            if m["ampm"]:
                hour = hour % 12 + (12 if m["ampm"].lower() == "p" else 0)
            out.append((m.start(), m.end(), Quantity(hour * 60.0 + int(m["mm"]), "time")))
            continue
        value = float(m["int"].replace(",", "") + (m["frac"] or ""))
        gap = text[out[-1][1] : m.start()] if out else "x"
        start = m.start()
        # "-" after a number and spaces is a range ("70 -180"), elsewhere a minus sign.
        if m["sign"] and gap.strip():
            value = -value
        elif m["sign"]:
            start = m.start("int")
        unit = next((_UNIT_OF[k] for k, v in m.groupdict().items() if k in _UNIT_OF and v), None)
        decimals = len(m["frac"]) - 1 if m["frac"] else 0
        out.append((start, m.end(), Quantity(value, unit, decimals)))
    # The unit after the second number of a range belongs to the first too: "70-180 mg/dL".
    for i in range(len(out) - 2, -1, -1):
        (s1, e1, q1), (s2, _, q2) = out[i], out[i + 1]
        if q1.unit is None and q2.unit not in (None, "time") and _RANGE_GAP.fullmatch(text, e1, s2):
            out[i] = (s1, e1, Quantity(q1.value, q2.unit, q1.decimals))
    return out


def _quantities(text: str, *, with_parts: bool) -> list[Quantity]:
    """Quantities of `text`, "7 h 47 min" merged into 467 min; `with_parts` keeps 7 h and 47 min
    as well (for the input side, so that either way of writing it is supported)."""
    scanned = _scan(text)
    out: list[Quantity] = []
    i = 0
    while i < len(scanned):
        _, end, q = scanned[i]
        if i + 1 < len(scanned) and q.unit == "h" and q.decimals == 0:
            start2, _, q2 = scanned[i + 1]
            if q2.unit == "min" and _DURATION_GAP.fullmatch(text, end, start2):
                out.append(Quantity(q.value * 60 + q2.value, "min", q2.decimals))
                if with_parts:
                    out += [q, q2]
                i += 2
                continue
        out.append(q)
        i += 1
    return out


def extract_quantities(text: str) -> list[Quantity]:
    """Numbers with their optional units, in order of appearance (see the module docstring)."""
    return _quantities(text, with_parts=False)


def _supports(source: Quantity, answer: Quantity) -> bool:
    if (source.unit == "time") != (answer.unit == "time"):
        return False
    # An unsigned answer number may restate a negative one in words: "fell by 1.7 ms" for a
    # trend of -1.7 ms. A negative answer number needs a negative source.
    value = abs(source.value) if answer.value >= 0 else source.value
    if source.unit and answer.unit and source.unit != answer.unit:
        if source.unit not in _TO_MINUTES or answer.unit not in _TO_MINUTES:
            return False
        value = value * _TO_MINUTES[source.unit] / _TO_MINUTES[answer.unit]
    # Within half a unit of the answer's last written digit (the epsilon absorbs float error).
    return abs(value - answer.value) <= 0.5 * 10.0**-answer.decimals + 1e-9


def factual_consistency(answer: str, source_input: str) -> FactualScore:
    """How many numbers of `answer` the input supports (rule in the module docstring)."""
    source = _quantities(source_input, with_parts=True)
    claimed = extract_quantities(answer)
    missing = tuple(q for q in claimed if not any(_supports(s, q) for s in source))
    n = len(claimed)
    return FactualScore(n, n - len(missing), len(missing), len(missing) / n if n else 0.0, missing)


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


# ------------------------------------------------------------------ roll-up

METRIC_KEYS: tuple[str, ...] = (
    "exact_match", "f1", "bleu", "rouge1", "rouge2", "rougeL",
    "hallucinated_number_rate", "phi_rate",
)  # fmt: skip


def _score_group(rows: Sequence[dict[str, Any]]) -> dict[str, float | int]:
    preds = [str(r["prediction"]) for r in rows]
    refs = [str(r["reference"]) for r in rows]
    n = len(rows)
    facts = [
        factual_consistency(p, str(r.get("input") or "")) for p, r in zip(preds, rows, strict=True)
    ]
    numbers = sum(f.numbers_in_answer for f in facts)
    return {
        "n": n,
        "exact_match": math.fsum(map(exact_match, preds, refs)) / n if n else 0.0,
        "f1": math.fsum(map(token_f1, preds, refs)) / n if n else 0.0,
        "bleu": bleu(preds, refs),
        **rouge(preds, refs),
        # Pooled over all numbers of the group, so an answer with many numbers weighs more.
        "hallucinated_number_rate": (
            sum(f.hallucinated for f in facts) / numbers if numbers else 0.0
        ),
        "numbers_in_answers": numbers,
        "phi_rate": phi_regurgitation(preds)["rate"],
    }


def score_predictions(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`{"overall": metrics, "per_category": {category: metrics}}` for rows holding
    `prediction`, `reference`, `input` and `category` (missing category: "uncategorized").

    EM, F1, ROUGE are means over answers (0-1); BLEU is corpus BLEU (0-100);
    `hallucinated_number_rate` is hallucinated numbers / numbers in answers; `phi_rate` is the
    share of answers with any PHI finding."""
    for i, row in enumerate(rows):
        for key in ("prediction", "reference"):
            if key not in row:
                raise KeyError(f"row {i}: field {key!r} is missing (have {sorted(row)})")
    groups: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[str(row.get("category") or "uncategorized")].append(row)
    return {
        "overall": _score_group(rows),
        "per_category": {cat: _score_group(groups[cat]) for cat in sorted(groups)},
    }
