"""Number faithfulness: is every number of an answer supported by the request it answers?

The rule (the evaluation, the promotion gate and the serving guard all use it): a number in the
answer, with its unit when one follows it, is *supported* when the input (instruction + input)
holds a number that
  * equals it after rounding the input's value to the answer's precision (answer 142 is supported
    by 142.0 and by 141.6; 71% by 71.3%; answer 71.3 is *not* supported by 71),
  * with the same unit, or a convertible one (hours and minutes: "6 h 24 min" and "6.4 h" are
    supported by "384 min"), or either side without a unit. A clock time ("08:15") only matches
    a clock time;
or when it is a share of a stated total: an answer's percentage equal to part / total x 100 of
two input quantities of one unit, the total being the largest of that unit ("384 of 417 min in
bed": 92%). Anything else is *hallucinated*. There is no list of well-known clinical values:
"70" and "180" of "70-180 mg/dL" are supported only when the input holds them. Dates
(2025-01-03) are ignored on both sides. "1,234" is 1234; a range "70-180" or "120/80 mmHg" is two
numbers, the unit after the second applying to both; "7 h 47 min" is one duration of 467 min in
the answer (the input also offers its parts, 7 h and 47 min). An unsigned number in the answer
may restate a negative one ("fell by 1.7 ms" for a trend of -1.7 ms): this check does not read
direction words; `statements.py` does, for the facts it knows.

Presence is not correctness: "peaked at 90 bpm" is supported when 90 is the resting rate.
`statements.py` checks what each number claims to be.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field


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
    ("mg/dL", r"mg\s?/?\s?dl"),  # "168 mgdl" too
    ("mmHg", r"mm\s?hg"),
    ("bpm", r"bpm|beats\s+per\s+minute|beats/min"),
    ("ms", r"milliseconds?|msec|ms"),
    ("%", r"%|percent|per\s+cent"),
    ("h", r"hours?|hrs?|h"),
    ("min", r"minutes?|mins?"),
    ("steps", r"steps?"),
    ("kcal", r"kcals?|kilocalories|calories|cals?"),  # "180 kcals" (set K)
)
_UNIT_OF = {f"u{i}": unit for i, (unit, _) in enumerate(_UNITS)}
_UNIT_RE = "|".join(f"(?P<u{i}>{spellings})" for i, (_, spellings) in enumerate(_UNITS))
_SPACE = "[ \u00a0\u202f]"  # a space, a no-break space, a narrow no-break space
_TOKEN = re.compile(
    # Dates first so that their parts never read as numbers or ranges.
    r"(?P<date>(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|(?:19|20)\d\d-(?:0[1-9]|1[0-2]))"
    r"(?![\d/-]))"
    # A race time: h:mm:ss, or mm:ss past any clock's hour ("10.5 km in 58:40").
    r"|(?P<race>(?<![\d:.])(?:(?P<rh>\d{1,2}):(?P<rm>[0-5]\d)|(?P<rmm>2[4-9]|[3-5]\d))"
    r":(?P<rs>[0-5]\d)(?![\d:]))"
    r"|(?P<time>(?<![\d:.])(?P<hh>[01]?\d|2[0-3]):(?P<mm>[0-5]\d)(?!\d|:\d)"
    r"(?:\s?(?P<ampm>[ap])\.?m\b\.?)?"
    # "11.45pm": a point for the colon, only with am/pm (else it is a decimal)
    r"|(?<![\d:.])(?P<dh>1[0-2]|0?\d)\.(?P<dm>[0-5]\d)\s?(?P<dampm>[ap])\.?m\b\.?"
    r"|(?<=at )(?P<midnight>midnight)\b)"
    # "an hour and 10 minutes": the hour a number would be
    r"|(?P<anhour>\b(?:an|one)\s+hour\b)"
    # "7 1/2 hours", "7½ hrs", "6 and a half hours": half an hour more (set K's "slept 7 1/2
    # hours" read as a range of 1-2 h)
    r"|(?<![\w.])(?P<half>\d{1,2})(?:\s+1/2|\s?\u00bd|\s+and\s+a\s+half)\s?(?:hours?|hrs?|h)\b"
    r"|(?<![\w.])(?P<sign>[-\u2212])?(?P<int>\d{1,3}(?:,\d{3})+(?!\d)"
    # Thousands grouped by a space, as many languages write them ("6 200 steps", "steps 6 200",
    # "2 480 kcal"), only beside a count's unit: "95 110 140 mg/dL" is a list of readings.
    rf"|\d{{1,3}}(?:{_SPACE}\d{{3}})+(?={_SPACE}?(?:steps?|kcal)\b)"
    rf"|(?:(?<=steps )|(?<=steps: )|(?<=steps=)|(?<=steps is )|(?<=steps was )|(?<=steps are ))"
    rf"\d{{1,3}}(?:{_SPACE}\d{{3}})+(?![\d.,]\d)"
    r"|\d+)(?P<frac>\.\d+)?"
    # "12k steps"; a k after "steps" ("steps=12.4k", "steps only 3.1k") is decided in _scan;
    # "9,8k steps" has a decimal comma
    r"(?P<kcomma>,\d(?=k\b))?(?:(?P<thousand>k(?=\s?steps?\b))|(?P<k>k\b))?"
    # The unit is on the number's line: "Steps: 12,408\nActive calories: 684" (set N) read the
    # steps as 12,408 kcal and left 684 to no name.
    rf"(?:st|nd|rd|th)?(?:(?:{_SPACE}?|-)(?:{_UNIT_RE})(?![a-z]))?",
    re.IGNORECASE,
)
STEPS_BEFORE = re.compile(r"\bsteps?\W{0,3}(?:only\s+|is\s+|was\s+)?$", re.IGNORECASE)
_RANGE_GAP = re.compile(r"\s*(?:[-\u2212\u2013\u2014/]|to)\s*", re.IGNORECASE)
_DURATION_GAP = re.compile(r"\s*(?:and\s+)?", re.IGNORECASE)
TO_MINUTES = {"h": 60.0, "min": 1.0}
_MINUTES_M = re.compile(r"\s?m\b")
_SECONDS = re.compile(r"\s?(?:s|secs?|seconds?)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"\s*(?:[,;.!?|)]|$)")
# "7h10", "5h40", "4h50m": minutes glued to the hours, which the token pattern cannot start a
# number at (set I read "slept 5h40" as 5 h).
_GLUED_MINUTES = re.compile(r"([0-5]\d)(?:\s?m(?:in(?:ute)?s?)?)?\b", re.IGNORECASE)


def _scan(text: str) -> list[tuple[int, int, Quantity]]:
    """(start, end, quantity) of every number and clock time in order; dates are skipped."""
    out: list[tuple[int, int, Quantity]] = []
    for m in _TOKEN.finditer(text):
        if m["date"]:
            continue
        if m["race"]:
            minutes = int(m["rh"]) * 60 + int(m["rm"]) if m["rh"] else int(m["rmm"])
            out.append((m.start(), m.end(), Quantity(minutes + int(m["rs"]) / 60, "min", 1)))
            continue
        if m["time"]:
            hour, minute = int(m["hh"] or m["dh"] or 0), int(m["mm"] or m["dm"] or 0)
            if ampm := m["ampm"] or m["dampm"]:
                hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
            out.append((m.start(), m.end(), Quantity(hour * 60.0 + minute, "time")))
            continue
        if m["anhour"]:
            out.append((m.start(), m.end(), Quantity(1.0, "h")))
            continue
        if m["half"]:
            out.append((m.start(), m.end(), Quantity(int(m["half"]) + 0.5, "h", 1)))
            continue
        end = m.end()
        value = float(
            re.sub(r"\D", "", m["int"]) + (m["frac"] or m["kcomma"] or "").replace(",", ".")
        )
        gap = text[out[-1][1] : m.start()] if out else "x"
        start = m.start()
        # "-" after a number and spaces is a range ("70 -180"), elsewhere a minus sign.
        if m["sign"] and gap.strip():
            value = -value
        elif m["sign"]:
            start = m.start("int")
        unit = next((_UNIT_OF[k] for k, v in m.groupdict().items() if k in _UNIT_OF and v), None)
        decimals = len(m["frac"]) - 1 if m["frac"] else 0
        # Steps and kcal are whole: "12.400 steps" is twelve thousand four hundred, a thousands
        # point (served set E was told 12.4 steps is very low activity; set M wrote "2.310 kcal").
        if unit in ("steps", "kcal") and decimals == 3 and "," not in m["int"]:
            value, decimals = float(m["int"] + m["frac"][1:]) * (-1 if value < 0 else 1), 0
        elif m["thousand"] or (m["k"] and STEPS_BEFORE.search(text, 0, m.start())):
            # "12k steps", "8.5k steps", "steps: 9,8k"
            decimals = len(m["frac"] or m["kcomma"] or ".") - 1
            value, decimals = float(round(value * 1000)), max(0, decimals - 3)
        elif m["k"]:  # "a 10k": the k is a distance's, read after the number
            end = m.start("k")
        out.append((start, end, Quantity(value, unit, decimals)))
    # The unit after the second number of a range belongs to the first too: "70-180 mg/dL".
    for i in range(len(out) - 2, -1, -1):
        (s1, e1, q1), (s2, _, q2) = out[i], out[i + 1]
        if q1.unit is None and q2.unit not in (None, "time") and _RANGE_GAP.fullmatch(text, e1, s2):
            out[i] = (s1, e1, Quantity(q1.value, q2.unit, q1.decimals))
    return out


def scan_quantities(text: str) -> list[tuple[int, int, Quantity]]:
    """(start, end, quantity) of every number of `text` in order, "7 h 47 min" merged into one
    duration of 467 min."""
    scanned = _scan(text)
    out: list[tuple[int, int, Quantity]] = []
    i = 0
    while i < len(scanned):
        start, end, q = scanned[i]
        glued = _GLUED_MINUTES.match(text, end) if q.unit == "h" and q.decimals == 0 else None
        if glued and text[end - 1].isalpha():
            out.append((start, glued.end(), Quantity(q.value * 60 + int(glued[1]), "min")))
            i += 1
            continue
        if i + 1 < len(scanned) and q.unit == "h" and q.decimals == 0:
            start2, end2, q2 = scanned[i + 1]
            # "5 h 50 min", and "5h 50m" (an "m" the unit pattern leaves: "50 m" is also metres);
            # "7 h 50" and "rem 1h 10," end their clause with the minutes (set L)
            bare = q2.unit is None and q2.value < 60 and q2.decimals == 0
            minutes = (
                (_MINUTES_M.match(text, end2) or _CLAUSE_END.match(text, end2)) if bare else None
            )
            if (q2.unit == "min" or minutes) and _DURATION_GAP.fullmatch(text, end, start2):
                end2 = minutes.end() if minutes else end2
                out.append((start, end2, Quantity(q.value * 60 + q2.value, "min", q2.decimals)))
                i += 2
                continue
        # "31 min 15 sec": the seconds are a part of the minutes (set K's pace took 31 min)
        if i + 1 < len(scanned) and q.unit == "min" and q.decimals == 0:
            start2, end2, q2 = scanned[i + 1]
            seconds = _SECONDS.match(text, end2) if q2.unit is None and q2.value < 60 else None
            if seconds and q2.decimals == 0 and _DURATION_GAP.fullmatch(text, end, start2):
                out.append((start, seconds.end(), Quantity(q.value + q2.value / 60, "min", 2)))
                i += 2
                continue
        out.append((start, end, q))
        i += 1
    return out


def _quantities(text: str, *, with_parts: bool) -> list[Quantity]:
    """Quantities of `text`; `with_parts` keeps a merged duration's hours and minutes as well
    (for the input side, so that either way of writing it is supported)."""
    if not with_parts:
        return [q for _, _, q in scan_quantities(text)]
    return [q for _, _, q in scan_quantities(text)] + [q for _, _, q in _scan(text)]


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
        if source.unit not in TO_MINUTES or answer.unit not in TO_MINUTES:
            return False
        value = value * TO_MINUTES[source.unit] / TO_MINUTES[answer.unit]
    # Within half a unit of the answer's last written digit (the epsilon absorbs float error).
    return abs(value - answer.value) <= 0.5 * 10.0**-answer.decimals + 1e-9


def _percent_of_total(source: list[Quantity], answer: Quantity) -> bool:
    """A share the input does not state but its numbers give: part / total, where the total is
    the largest quantity of that unit in the input (384 of 417 min in bed is 92%)."""
    if answer.unit != "%":
        return False
    by_unit: dict[str, list[float]] = {}
    for q in source:
        if q.unit not in (None, "%", "time") and q.value >= 0:
            by_unit.setdefault(q.unit, []).append(q.value)
    tolerance = 0.5 * 10.0**-answer.decimals + 1e-9
    for values in by_unit.values():
        total = max(values)
        if total > 0 and any(
            abs(100 * part / total - answer.value) <= tolerance for part in values if part < total
        ):
            return True
    return False


def factual_consistency(
    answer: str, source_input: str, extra: Iterable[Quantity] = ()
) -> FactualScore:
    """How many numbers of `answer` the input supports (rule in the module docstring).

    `extra` are quantities allowed besides the input's own (the serving-time grounding adds
    derived and reference values, ml/evaluation/grounding.py); they support an answer number the way an
    input quantity does, but never take part in the share-of-total rule."""
    source = _quantities(source_input, with_parts=True)
    allowed = source + list(extra)
    claimed = extract_quantities(answer)
    missing = tuple(
        q
        for q in claimed
        if not any(_supports(s, q) for s in allowed) and not _percent_of_total(source, q)
    )
    n = len(claimed)
    return FactualScore(n, n - len(missing), len(missing), len(missing) / n if n else 0.0, missing)
