"""Serving-time grounding: the numbers an answer may state are the request's own, the values
derived from them by fixed rules, and the documented clinical reference values. Nothing else.

The rule (docs/grounding.md is the user-facing version; the server applies it to every answer):
a number in an answer is *supported* when the faithfulness rule (`ml/evaluation/faithfulness.py`: same
value after rounding to the answer's precision, same or convertible unit, hours <-> minutes)
finds it among these *allowed quantities* of the request:

  * every number the request states, with its unit ("163 mg/dl", "62%", "7 h 47 min" and its
    parts 7 h and 47 min, a clock time "23:40"); at most the first 40, so pairwise work stays small;
  * for each pair of stated quantities of one unit (hours and minutes count as one): their
    difference, both ways and signed (a change, an energy balance), their sum, the percent
    change from either to the other, and either as a share of the other (part / total x 100);
  * for each pair of clock times: the duration from one to the other across midnight (bed 23:40,
    up 07:10: 450 min, which an answer may say as 7 h 30 min or 7.5 h);
  * when the request states a distance (a number followed by km, k, kilometres, mi or miles) and
    a duration (in min or h, or written "27:30" / "1:02:30"): the pace in min per km (or per
    mile) and the speed in km/h (or mph); the pace also as a clock-like "5:24" (read as a clock
    time, so "5:24 per km" is supported);
  * for a stated mean glucose (a mg/dL value, or a bare 40-400 in a request about glucose or CGM):
    the GMI, 3.31 + 0.02392 x mean, in %;
  * every clinical reference value of `etl/reference_values.REFERENCE_VALUES` (the 70 % time-in-
    range target, the 7 h sleep minimum, ...), whether or not the request mentions it.

Derived values are exact: an answer may round them as it would a stated number (5 km in 27 min is
a pace of 5.4 min/km: "5.4" and "5" are supported, "5.5" is not). Presence is not correctness:
the rule checks that a number could come from the request, not what the answer says it is.

`allowed_number_strings` writes every allowed value the ways a model writes numbers ("10000",
"10,000", "5.4", "5:24", "07:10"); the server's constrained decoding (serving/backends/number_mask.py)
lets a model write only those, using the prefix automaton at the end of this module.
"""

from __future__ import annotations

import math
import re

from health_training.etl import derived
from health_training.etl.computed import DISTANCE, distance_value
from health_training.etl.reference_values import REFERENCE_VALUES
from health_training.ml.evaluation.faithfulness import (
    TO_MINUTES,
    FactualScore,
    Quantity,
    _quantities,
    factual_consistency,
)
from health_training.ml.evaluation.number_writing import AllowedNumbers

MAX_STATED = 40  # request quantities taken into the pairwise rules (40 x 39 pairs at most)
_MAX_SPANS = 8  # distances and durations taken into pace and speed
_DISTANCE = DISTANCE  # one definition: etl/computed.py
# "27:30" (min:s, or h:min) and "1:02:30" (h:min:s) as durations, for pace and speed.
_CLOCK_SPAN = re.compile(r"(?<![\d:.])(\d{1,2}):([0-5]\d)(?::([0-5]\d))?(?![\d:])")
_GLUCOSE_TOPIC = re.compile(r"glucose|cgm|sugar|mg\s?/\s?dl", re.IGNORECASE)
_DATE = re.compile(r"(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})(?![\d/-])")


def allowed_quantities(request_text: str) -> list[Quantity]:
    """Every quantity an answer to `request_text` may state (the rule in the module docstring)."""
    stated = _stated(request_text)
    references = _references()
    allowed = [
        *stated,
        *_pairwise(stated, references),
        *_clock_durations(stated),
        *_paces(request_text, stated),
        *_gmi(request_text, stated),
        *references,
    ]
    return allowed + _in_other_units(allowed)


def check_grounding(answer: str, request_text: str) -> FactualScore:
    """The faithfulness score of `answer` with the allowed quantities of the request as source."""
    return factual_consistency(answer, request_text, extra=allowed_quantities(request_text))


def allowed_number_strings(request_text: str) -> frozenset[str]:
    """Every allowed value written as a model writes it: whole and one-decimal roundings (and
    the written precision), with and without thousands commas, hours <-> minutes, a duration's
    hour and minute parts, clock times as "07:10" and "7:10"; the digits of the request's dates."""
    out: set[str] = set()
    for q in allowed_quantities(request_text):
        out |= _spellings(q)
    for date in _DATE.findall(request_text):
        out.update(re.findall(r"\d+", date))
    return frozenset(out)


# --- the derivations ---------------------------------------------------------------------------


def _stated(text: str) -> list[Quantity]:
    seen: dict[tuple[float, str | None, int], Quantity] = {}
    for q in _quantities(text, with_parts=True):
        seen.setdefault((q.value, q.unit, q.decimals), q)
    return list(seen.values())[:MAX_STATED]


def _pairwise(stated: list[Quantity], references: list[Quantity]) -> list[Quantity]:
    """Pairs of stated quantities of one unit: differences, sums, percent changes and shares.
    A stated quantity and a reference value of its unit give only their difference and, for
    counts, the share of the reference ("8 points under the 70 % target", "75 % of the 10,000
    step goal"): a percent change against a threshold is no claim anyone makes."""
    out: list[Quantity] = []
    by_unit = _in_minutes_by_unit(stated)
    for unit, values in by_unit.items():
        for i, (a, da) in enumerate(values):
            for b, db in values[i + 1 :]:
                places = max(da, db)
                out += [Quantity(a - b, unit, places), Quantity(b - a, unit, places)]
                out.append(Quantity(a + b, unit, places))
                for x, y in ((a, b), (b, a)):
                    if y != 0:
                        out.append(Quantity(100 * (x - y) / abs(y), "%"))  # change from y to x
                    if y > 0 and x >= 0:
                        out.append(Quantity(100 * x / y, "%"))  # x as a share of y
    for unit, refs in _in_minutes_by_unit(references).items():
        for a, da in by_unit.get(unit, []):
            for r, _ in refs:
                out += [Quantity(a - r, unit, da), Quantity(r - a, unit, da)]
                if unit != "%" and r > 0 and a >= 0:
                    out.append(Quantity(100 * a / r, "%"))
    return out


def _in_minutes_by_unit(quantities: list[Quantity]) -> dict[str | None, list[tuple[float, int]]]:
    """(value, decimals) by unit, clock times left out; hours and minutes pair up in minutes
    (the faithfulness rule converts back for answers)."""
    by_unit: dict[str | None, list[tuple[float, int]]] = {}
    for q in quantities:
        if q.unit != "time":
            unit, scale = ("min", TO_MINUTES[q.unit]) if q.unit in TO_MINUTES else (q.unit, 1.0)
            by_unit.setdefault(unit, []).append((q.value * scale, q.decimals))
    return by_unit


def _clock_durations(stated: list[Quantity]) -> list[Quantity]:
    times = [int(q.value) for q in stated if q.unit == "time"]
    return [
        Quantity(derived.sleep_minutes(a, b), "min")
        for i, a in enumerate(times)
        for j, b in enumerate(times)
        if i != j
    ]


def _paces(text: str, stated: list[Quantity]) -> list[Quantity]:
    distances = [
        (distance_value(m), "mi" if m["mi"] else "km")
        for m in _DISTANCE.finditer(text)
        if distance_value(m)
    ][:_MAX_SPANS]
    if not distances:
        return []
    minutes = [q.value * TO_MINUTES[q.unit] for q in stated if q.unit in TO_MINUTES]
    for m in _CLOCK_SPAN.finditer(text):
        a, b, c = int(m[1]), int(m[2]), m[3]
        # "27:30" is 27 min 30 s or 27 h 30 min; "1:02:30" is 1 h 2 min 30 s.
        minutes += [a * 60 + b + int(c) / 60] if c else [a + b / 60, a * 60 + b]
    out: list[Quantity] = []
    for distance, unit in distances:
        lengths = [distance] + ([distance * derived.KM_PER_MILE] if unit == "mi" else [])
        for length in lengths:
            for duration in [d for d in minutes if d > 0][:_MAX_SPANS]:
                pace = duration / length
                out.append(Quantity(pace, "min", 1))
                out.append(Quantity(60 * length / duration, None, 1))  # speed: "km/h" is no unit
                if pace < 24:  # a clock-like pace reads as a clock time; 24:00 and up do not
                    clock = derived.pace_clock(length, duration)
                    out.append(Quantity(derived.clock_minutes(clock), "time"))
    return out


def _gmi(text: str, stated: list[Quantity]) -> list[Quantity]:
    about_glucose = _GLUCOSE_TOPIC.search(text) is not None
    means = [
        q.value
        for q in stated
        if q.unit == "mg/dL" or (about_glucose and q.unit is None and 40 <= q.value <= 400)
    ]
    return [Quantity(derived.gmi_percent(mean), "%", 1) for mean in means]


def _in_other_units(quantities: list[Quantity]) -> list[Quantity]:
    """A duration in the other unit and, from an hour up, its hour and minute parts: the
    faithfulness rule converts units only when the answer states one, so "7.5" or "30" alone
    needs these to be supported by 450 min."""
    out: list[Quantity] = []
    for q in quantities:
        if q.unit not in TO_MINUTES:
            continue
        minutes = q.value * TO_MINUTES[q.unit]
        out.append(
            Quantity(minutes / 60, "h", q.decimals + 1)
            if q.unit == "min"
            else Quantity(minutes, "min", q.decimals)
        )
        hours, rest = divmod(round(abs(minutes)), 60)
        if hours:
            out += [Quantity(hours, "h"), Quantity(rest, "min")]
    return out


def _references() -> list[Quantity]:
    # "ms/h" is read as "ms" in an answer: the faithfulness units have no rates.
    return [
        Quantity(r.value, r.unit.partition("/")[0] if r.unit == "ms/h" else r.unit)
        for r in REFERENCE_VALUES
    ]


# --- how allowed values are written --------------------------------------------------------------


def _spellings(q: Quantity) -> set[str]:
    if q.unit == "time":
        hours, minutes = divmod(round(q.value) % 1440, 60)
        return {f"{h}:{minutes:02d}" for h in (f"{hours:02d}", str(hours), str(hours % 12 or 12))}
    out: set[str] = set()
    for places in {0, 1, min(q.decimals, 3)}:
        # Unsigned too: an answer may restate a negative value in words ("fell by 1.7 ms").
        out |= _roundings(abs(q.value), places)
    return out | {f"-{s}" for s in out} if q.value < 0 else out


def _roundings(x: float, places: int) -> set[str]:
    """`x` written with `places` decimals, both ways where it lies halfway (the faithfulness
    rule accepts either)."""
    scaled = x * 10**places
    out: set[str] = set()
    for n in {math.floor(scaled), math.ceil(scaled)}:
        if abs(n - scaled) <= 0.5 + 1e-9 * 10**places:
            whole, frac = divmod(n, 10**places)
            tail = f".{frac:0{places}d}" if places else ""
            out.add(f"{whole}{tail}")
            if whole >= 1000:
                out.add(f"{whole:,}{tail}")
    return out


def allowed_numbers(request_text: str) -> AllowedNumbers:
    return AllowedNumbers.of(allowed_number_strings(request_text))
