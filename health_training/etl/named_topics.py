"""Which record types a text names as a whole ("my blood sugar") and which measures it names that
no record type holds ("blood pressure", "SpO2"): what a question is about when it names no measure
of a record."""

from __future__ import annotations

import re
from functools import cache

_WEIGHT_UNITS = ("kg", "kgs", "kilos", "kilograms", "lb", "lbs", "pounds")
_NUMBER_BEFORE = re.compile(r"\d\s*$")
# Weight as the user's aim, not a value asked for: "trying to lose weight, is 8,000 steps
# enough?" got "no body weight data given" beside the steps' verdict, and an answer that
# declined. "Did I lose weight?" and "how much weight have I lost?" still ask for it.
_WEIGHT_AIM = re.compile(
    r"\b(?:to|help me)\s+(?:lose|drop|shed|gain|put\s+on)\s+(?:some\s+|a\s+bit\s+of\s+)?weight\b"
    r"|\bfor\s+weight[- ](?:loss|gain)\b",
    re.IGNORECASE,
)


@cache
def _topics() -> tuple[re.Pattern[str], dict[str, tuple[str | None, str]]]:
    """How users name a whole record type ("my blood sugar") and the measures no record type
    holds ("blood pressure"): lower-cased name -> (record type or None, the answer's name)."""
    from health_training.etl.questions.measures import RECORD_TOPIC
    from health_training.etl.questions.unanswerable_phrasings import MISSING

    found: dict[str, tuple[str | None, str]] = {}
    for record_type, names in RECORD_TOPIC.items():
        for name in names:
            found[name.lower()] = (record_type, names[0])
    for name, answer_name, holders in MISSING:
        if not holders:
            found[name.lower()] = (None, answer_name)
    # A weight asked in its unit is body weight: "how many kg have I lost?" under a step count
    # (set E) was answered with the steps' verdict.
    for unit in _WEIGHT_UNITS:
        found.setdefault(unit, (None, "body weight"))
    alternation = "|".join(re.escape(n) for n in sorted(found, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE), found


def named_topics(text: str) -> list[tuple[str | None, str]]:
    """(record type, name) of every record type or untracked measure `text` names, in order;
    the record type is None for a measure no record holds ("blood pressure")."""
    pattern, found = _topics()
    return [
        found[m[0].lower()]
        for m in pattern.finditer(text)
        # "I weigh 80 kg" gives the weight; "how many kg" asks it.
        if not (m[0].lower() in _WEIGHT_UNITS and _NUMBER_BEFORE.search(text, 0, m.start()))
        and not (m[0].lower() == "weight" and _is_aim(text, m.start(), m.end()))
    ]


def _is_aim(text: str, start: int, end: int) -> bool:
    """Is the "weight" at `start`:`end` part of an aim ("to lose weight", "for weight loss")?"""
    return any(m.start() <= start and end <= m.end() for m in _WEIGHT_AIM.finditer(text))
