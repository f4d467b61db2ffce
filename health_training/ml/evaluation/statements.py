"""Fact statements: what each number of a narrative claims to be, checked against the source.

A *statement* is a quantity-value pair an answer asserts about a fact of `data.fact_vocabulary`
("resting heart rate was 90 bpm" states resting_hr_bpm = 90). Every number with a unit is
attributed by its clause: the words between the previous number (or the clause start) and it,
and a few words after it, are matched against the cue words of the facts measured in that unit
("Below 70 mg/dL resulted in 77%": the cue "below 70" makes 77 % a time-below-range statement).
The nearest cue wins; a number whose clause holds no cue states nothing (the number rule of
`faithfulness.py` still checks it). Ranges ("range 137-366 mg/dL", "from 9 to 57 ms") state a
minimum and a maximum; "7 h 47 min" is one duration; "fell by 2.0 ms per hour" a negative trend.

A statement is *correct* when its value equals the source fact after rounding the fact to the
statement's precision; it is *wrong* when the value differs, or when the record has no such fact
(a sleep figure in a glucose narrative).

  fact accuracy = correct statements / statements             (per answer, pooled per group)
  fact recall   = facts the reference states that the answer states correctly
                  / facts the reference states
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from health_training.ml.evaluation.faithfulness import Quantity, scan_quantities

# unit -> ((fact, cue pattern), ...): the first cue found nearest the number decides.
_CUES: dict[str, tuple[tuple[str, str], ...]] = {
    "mg/dL": (
        ("glucose_sd_mg_dl", r"\bsd\b|standard deviation"),
        ("min_glucose_mg_dl", r"\blow(?:est)?\b|\bmin(?:imum)?\b|nadir"),
        ("max_glucose_mg_dl", r"\bhigh(?:est)?\b|\bmax(?:imum)?\b|\bpeak(?:ed)?\b"),
        ("mean_glucose_mg_dl", r"averag|\bmean\b"),
    ),
    "%": (
        (
            "time_in_range_pct",
            r"in (?:the )?(?:target )?range|time in range|target range|\btir\b|70-180 mg/dl",
        ),
        ("time_below_range_pct", r"below 70|under 70|\btbr\b|\blow\b|hypoglyc"),
        ("time_above_range_pct", r"above 180|over 180|\btar\b|\bhigh\b|hyperglyc"),
        ("glucose_cv_pct", r"\bcv\b|coefficient of variation|variabilit"),
        ("gmi_pct", r"\bgmi\b|glucose management|glycated|\ba1c\b"),
        ("sleep_efficiency_pct", r"efficien"),
        ("deep_pct", r"\bdeep\b"),
        ("rem_pct", r"\brem\b"),
        ("light_pct", r"\blight\b"),
        ("awake_pct", r"\bawake\b|\bwake\b"),
        ("steps_pct_of_goal", r"\bgoal\b"),
    ),
    "bpm": (
        ("resting_hr_bpm", r"\bresting\b|\brest\b"),
        ("max_hr_bpm", r"\bpeak(?:ed)?\b|\bmax(?:imum)?\b|highest"),
        ("mean_hr_bpm", r"averag|\bmean\b"),
    ),
    "ms": (
        ("min_rmssd_ms", r"\blow(?:est)?\b|\bmin(?:imum)?\b"),
        ("max_rmssd_ms", r"\bhigh(?:est)?\b|\bmax(?:imum)?\b|\bpeak(?:ed)?\b|\bbest\b|\btop\b"),
        ("mean_rmssd_ms", r"averag|\bmean\b|\brmssd\b|variability|\bhrv\b"),
    ),
    "min": (
        ("zone_min", r"\bzone\b"),
        ("sleep_latency_min", r"latency|falling asleep|fall asleep|sleep onset"),
        ("time_in_bed_min", r"in bed"),
        ("asleep_min", r"\bslept\b|asleep|sleep duration|total sleep"),
        ("awake_min", r"\bawake\b"),
        ("deep_min", r"\bdeep\b"),
        ("rem_min", r"\brem\b"),
        ("light_min", r"\blight\b"),
    ),
    "steps": (
        ("step_goal", r"\bgoal\b"),
        ("peak_hour_steps", r"\bpeak(?:ed)?\b|most active"),
        ("total_steps", r"total|walked|took|\bday\b"),
    ),
    "kcal": (
        ("kcal_goal", r"\bgoal\b"),
        ("peak_hour_kcal", r"\bpeak(?:ed)?\b|most active"),
        ("total_active_kcal", r"total|burn|expend|\bday\b"),
    ),
    "ms/h": (("rmssd_trend_ms_per_h", r"trend|fell|rose|declin|drop|increas|decreas|per hour"),),
}
_DOWN = re.compile(r"\b(?:fell|declin|drop|decreas|lower)", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;!?](?:\s|$)|,\s+(?:and|but|while|with)\b")
_AFTER = 30  # characters after a number searched for a cue ("120 min in zone 2")
_ZONE_AFTER = re.compile(r"\s*(?:min(?:utes)?\s+)?in\s+zone\s+([1-5])", re.IGNORECASE)
_RANGE = re.compile(r"\s*(?:-|\u2013|to)\s*$")
# A number that is a reference point, not a measurement: "below 70 mg/dL", "the 70% target",
# "the 40-85 bpm reference", "15 min or more", "the recommended 7-9 h".
COMPARED_BEFORE = re.compile(
    r"(?:below|above|under|over|than|exceed(?:s|ing|ed)?|at least|at most|up to|recommended"
    r"|usually|reference|target of|threshold of)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_REFERENCE_AFTER = re.compile(
    r"\s*(?:[-\u2013]\s*[\d.,]+\s*)?(?:[a-z/%]+\s+){0,2}?(?:reference|target|band|threshold"
    r"|range\b|or more|or less|or below|or above|cut-?off|is (?:low|short|reduced|tachycardic))",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Statement:
    fact: str
    value: float
    decimals: int  # the written precision of the value
    start: int  # offset of the value in the text


@dataclass(frozen=True, slots=True)
class FactScore:
    statements: int
    correct: int
    wrong: tuple[Statement, ...]
    reference_facts: int  # facts the reference states
    recalled: int  # of those, stated correctly by the answer

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.statements if self.statements else None

    @property
    def recall(self) -> float | None:
        return self.recalled / self.reference_facts if self.reference_facts else None


@cache
def _compiled() -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    return {
        unit: tuple((fact, re.compile(cue, re.IGNORECASE)) for fact, cue in cues)
        for unit, cues in _CUES.items()
    }


# A measure's bare name is the nearest cue in "your lowest HRV reading was 39 ms", yet the
# superlative before it says which reading: within a few characters, the superlative's fact wins.
_BARE_NAME = {"ms": re.compile(r"\brmssd\b|variability|\bhrv\b", re.IGNORECASE)}
_SUPERLATIVE = re.compile(
    r"\b(?:lowest|highest|best|top|min(?:imum)?|max(?:imum)?|peak)\W+(?:\w+\W+){0,2}$",
    re.IGNORECASE,
)
_PART_END = re.compile(r"[.;!?,:()](?:\s|$)")
_OF_GOAL = re.compile(
    r"\s*% of (?:the |their |your |a )?[\d,]+\s*(?:steps|kcal) goal", re.IGNORECASE
)


def _clause_start(text: str, pos: int) -> int:
    """Where the part of the sentence holding `pos` starts: after a comma, colon or sentence end
    (a list "77% in range, 0% below 70" gives each number its own part)."""
    ends = [m.end() for m in _PART_END.finditer(text, max(0, pos - 200), pos)]
    return ends[-1] if ends else max(0, pos - 200)


def _attribute(
    text: str, start: int, end: int, prev_end: int, next_start: int, unit: str
) -> tuple[str | None, int]:
    """(fact, end of the text it used): the fact whose cue stands nearest before the number
    within its part of the sentence; failing that, the first cue after it, before the next
    number ("120 min in zone 2", "0% below 70 mg/dL"); or (None, end)."""
    lo = max(_clause_start(text, start), prev_end)
    before = text[lo:start]
    if unit == "%" and _OF_GOAL.match(text, end - 1):
        return "steps_pct_of_goal", end  # "64% of the 10,000 steps goal" (kcal: same share)
    best: tuple[int, str, int] | None = None  # distance, fact, where the cue starts
    for fact, cue in _compiled().get(unit, ()):
        for m in cue.finditer(before):
            distance = len(before) - m.end()
            if best is None or distance < best[0]:
                best = (distance, fact, m.start())
    if best:
        bare = _BARE_NAME.get(unit)
        named = bare.match(before, best[2]) if bare else None
        qualified = _SUPERLATIVE.search(before[: best[2]]) if named else None
        if qualified:
            for fact, cue in _compiled()[unit]:
                if fact != best[1] and cue.search(qualified[0]):
                    return fact, end
        return best[1], end
    after = text[end : min(end + _AFTER, next_start)]
    cut = _CLAUSE_END.search(after)
    after = after[: cut.start()] if cut else after
    found: tuple[int, int, str] | None = None
    for fact, cue in _compiled().get(unit, ()):
        m = cue.search(after)
        if m and (found is None or m.start() < found[0]):
            found = (m.start(), m.end(), fact)
    # The cue after a number is its own: the next number must not read it again.
    return (found[2], end + found[1]) if found else (None, end)


def _unit_of(q: Quantity) -> str | None:
    return {"h": "min"}.get(q.unit or "", q.unit)


def extract_statements(text: str) -> list[Statement]:
    """Every fact statement of `text`, in order of the numbers."""
    scanned = [
        (start, end, q)
        for start, end, q in scan_quantities(text)
        if q.unit != "time" and not _is_threshold(text, start, end)
    ]
    found: list[Statement] = []
    prev_end = 0
    consumed = -1  # the second number of a range, already stated
    for i, (start, end, q) in enumerate(scanned):
        if i == consumed:
            continue
        unit = _unit_of(q)
        if unit == "ms" and re.match(r"\s*per hour", text[end : end + 10]):
            unit = "ms/h"
        nxt = scanned[i + 1] if i + 1 < len(scanned) else None
        next_start = nxt[0] if nxt else len(text)
        fact, used_to = (
            _attribute(text, start, end, prev_end, next_start, unit) if unit else (None, end)
        )
        value = q.value * 60 if q.unit == "h" else q.value
        if fact == "zone_min":
            zone = _ZONE_AFTER.match(text, end)
            fact = f"zone{zone[1]}_min" if zone else None
        elif fact == "rmssd_trend_ms_per_h" and value > 0 and _DOWN.search(text[prev_end:start]):
            value = -value
        low, high = _range_facts(unit or "")
        if low and nxt and _RANGE.match(text[end : nxt[0]]) and _unit_of(nxt[2]) == unit:
            # "range 137-366 mg/dL", "from 9 to 57 ms": a minimum and a maximum
            found.append(Statement(low, value, q.decimals, start))
            fact, value, start, q = high, nxt[2].value, nxt[0], nxt[2]
            used_to, consumed = nxt[1], i + 1
        if fact:
            found.append(Statement(fact, value, q.decimals, start))
        prev_end = max(end, used_to)
    return _with_clock_times(text, found)


def _is_threshold(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 30) : start]
    # A range's first number: the rest of the range comes before what follows it.
    return bool(COMPARED_BEFORE.search(before) or _REFERENCE_AFTER.match(text, end, end + 40))


def _range_facts(unit: str) -> tuple[str | None, str | None]:
    pairs = {
        "mg/dL": ("min_glucose_mg_dl", "max_glucose_mg_dl"),
        "ms": ("min_rmssd_ms", "max_rmssd_ms"),
    }
    return pairs.get(unit, (None, None))


_CLOCK_CUES = (
    (re.compile(r"peak(?:ed)? at \d+ ?bpm at (\d{1,2}:\d{2})", re.IGNORECASE), ("max_hr_time",)),
    (re.compile(r"\((\d{1,2}:\d{2}) to (\d{1,2}:\d{2})\)"), ("bedtime", "wake_time")),
    (re.compile(r"peak(?:ed)? at (\d{1,2}):00 with", re.IGNORECASE), ("peak_hour",)),
)


def _with_clock_times(text: str, found: list[Statement]) -> list[Statement]:
    """Clock-time statements (peak time, bed and wake times, the most active hour)."""
    for pattern, facts in _CLOCK_CUES:
        for m in pattern.finditer(text):
            for i, fact in enumerate(facts, start=1):
                raw = m[i]
                hours, _, minutes = raw.partition(":")
                value = int(hours) % 24 * 60 + int(minutes or 0)
                found.append(Statement(fact, float(value), 0, m.start(i)))
    return sorted(found, key=lambda s: (s.start, s.fact))


def is_correct(statement: Statement, facts: Mapping[str, Any]) -> bool:
    """The statement's value is the fact's, at the precision it was written with."""
    truth = facts.get(statement.fact)
    if statement.fact in ("steps_pct_of_goal", "kcal_pct_of_goal"):
        truth = facts.get("steps_pct_of_goal", facts.get("kcal_pct_of_goal"))
    if not isinstance(truth, int | float) or isinstance(truth, bool):
        return False
    return abs(float(truth) - statement.value) <= 0.5 * 10.0**-statement.decimals + 1e-9


def _canonical(fact: str, facts: Mapping[str, Any]) -> str:
    if fact in ("steps_pct_of_goal", "kcal_pct_of_goal"):
        return "kcal_pct_of_goal" if "kcal_pct_of_goal" in facts else "steps_pct_of_goal"
    return fact


def score_facts(answer: str, facts: Mapping[str, Any], reference: str = "") -> FactScore:
    """Fact accuracy of `answer` against the source `facts`, and its recall of the facts the
    `reference` states (see the module docstring)."""
    stated = extract_statements(answer)
    right = {_canonical(s.fact, facts) for s in stated if is_correct(s, facts)}
    wrong = tuple(s for s in stated if not is_correct(s, facts))
    in_reference = {
        _canonical(s.fact, facts) for s in extract_statements(reference) if is_correct(s, facts)
    }
    return FactScore(
        statements=len(stated),
        correct=len(stated) - len(wrong),
        wrong=wrong,
        reference_facts=len(in_reference),
        recalled=len(in_reference & right),
    )
