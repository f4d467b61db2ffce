"""Comparisons an answer states, checked against its own numbers.

The grounding rule (grounding.py) checks that every number could come from the request; it does
not check what the answer says about them. "Your step total was 6,800 steps, at or above the
10,000 steps daily target" passes it with two supported numbers and a false verdict. This module
reads the comparisons the ETL writer's answers make (etl/questions/verdicts.py) and a model
imitates, and returns the ones the answer's own numbers contradict:

  "<subject>, at or above | at or below | above | over | more than | under | below | less than
   | short of | fewer than | up from | down from [the] [recommended|usual|daily] <threshold>"
  "<subject> ... within | between [the] [recommended|usual] <low>-<high>"

The subject is the last number of the same sentence before the comparison, of the threshold's
unit (hours and minutes are one unit), that is not itself a threshold of an earlier comparison
("19%, far below the 70% target (under 50%)" compares 19 % with both). When the number right
before the comparison has another unit, the comparison qualifies it ("8% below 70 mg/dL" is a
share of readings, "4 episodes above 250 mg/dL" a count) and is not judged. Only what can be read
this way is judged: a comparison without a subject of its unit ("under 40% of the 500 kcal
target"), or a lone "within the 85% reference" whose direction the words do not say, is left
alone, so a contradiction is reported only where the sentence states one.
"""

from __future__ import annotations

import re
from itertools import pairwise

from health_training.ml.evaluation.faithfulness import Quantity, scan_quantities

_OPS = (
    ("at or above", ">="),
    ("at or below", "<="),
    ("up from", ">"),
    ("down from", "<"),
    ("more than", ">"),
    ("higher than", ">"),
    ("less than", "<"),
    ("lower than", "<"),
    ("fewer than", "<"),
    ("short of", "<"),
    ("above", ">"),
    ("over", ">"),
    ("under", "<"),
    ("below", "<"),
    ("within", "in"),
    ("between", "in"),
)
_PHRASE = re.compile(
    r"\b(of\s+|not\s+)?(" + "|".join(re.escape(words) for words, _ in _OPS) + r")\s+"
    r"(?:the\s+)?(?:(?:recommended|usual|daily|reference)\s+)?(?=\d)",
    re.IGNORECASE,
)
_OP = dict(_OPS)
_NEGATED = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_RANGE_JOIN = re.compile(r"\s*(?:-|–|to|and)\s*")
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
_TOLERANCE = 1e-9


def contradicted_comparisons(answer: str) -> tuple[str, ...]:
    """The comparisons of `answer` that its own numbers contradict, as written ("6,800 steps,
    at or above the 10,000 steps"); empty when every readable comparison holds."""
    quantities = scan_quantities(answer)
    # Start offsets of numbers that are thresholds, never subjects: both ends of every range
    # ("the recommended 7-9 h") and each comparison's threshold as it is read.
    thresholds = {
        q[0]
        for a, b in pairwise(quantities)
        if _RANGE_JOIN.fullmatch(answer[a[1] : b[0]]) and _unit(a[2]) == _unit(b[2])
        for q in (a, b)
    }
    wrong = []
    for match in _PHRASE.finditer(answer):
        qualifier = (match.group(1) or "").strip().lower()
        op = _OP[match.group(2).lower()]
        after = [q for q in quantities if q[0] == match.end()]
        if not after or qualifier == "of":  # "a target of under 4%" describes, not compares
            continue
        if qualifier == "not":
            if op == "in":
                continue
            op = _NEGATED[op]
        bounds = [after[0]]
        if op == "in":
            rest = [q for q in quantities if q[0] > after[0][1]]
            if not rest or not _RANGE_JOIN.fullmatch(answer[after[0][1] : rest[0][0]]):
                continue  # "within the 85% reference": no range, no direction
            bounds.append(rest[0])
        thresholds.update(b[0] for b in bounds)
        subject = _subject(answer, quantities, match.start(), bounds[-1][2], thresholds)
        if subject is None:
            continue
        value = _minutes(subject[2])
        limits = [_minutes(b[2]) for b in bounds]
        if not _holds(op, value, limits):
            wrong.append(answer[subject[0] : bounds[-1][1]])
    return tuple(wrong)


def _subject(
    text: str,
    quantities: list[tuple[int, int, Quantity]],
    before: int,
    like: Quantity,
    thresholds: set[int],
) -> tuple[int, int, Quantity] | None:
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, before)), default=0)
    unit = _unit(like)
    earlier = [q for q in quantities if sentence_start <= q[0] and q[1] <= before]
    if earlier and _unit(earlier[-1][2]) != unit:
        return None  # "8% below 70 mg/dL", "4 episodes above 250 mg/dL": a share or a count
    candidates = [q for q in earlier if q[0] not in thresholds and _unit(q[2]) == unit]
    return candidates[-1] if candidates else None


def _unit(q: Quantity) -> str | None:
    return "min" if q.unit == "h" else q.unit


def _minutes(q: Quantity) -> float:
    return q.value * 60 if q.unit == "h" else q.value


def _holds(op: str, value: float, limits: list[float]) -> bool:
    if op == "in":
        low, high = sorted(limits)
        return low - _TOLERANCE <= value <= high + _TOLERANCE
    limit = limits[0]
    return {
        ">=": value >= limit - _TOLERANCE,
        "<=": value <= limit + _TOLERANCE,
        ">": value > limit,
        "<": value < limit,
    }[op]
