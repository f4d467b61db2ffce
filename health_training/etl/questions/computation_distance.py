"""Pace and speed questions: a distance and a time the user types, in kilometres or in miles, and
the answer in the unit the question's words ask for ("per km", "mph"), else the distance's own.

Until run 20 every such question was in kilometres and the computed line turned miles into a
pace per km: "ran 6.2 miles in 58 min, pace per mile?" was handed "5.8 min per km", a number no
runner in miles asked for. Now the writer types a share of its distances in miles, asking in the
template's words made to ask per mile ("per km" -> "per mile", "km/h" -> "mph"), and
`etl/computed.py` gives the line in the unit asked by the same rule (`unit_asked`).
"""

from __future__ import annotations

import re
from random import Random
from typing import Any

from health_training.etl import derived
from health_training.etl.questions.example import Asked
from health_training.etl.questions.quantities import hm

_DISTANCES_KM = (3.0, 5.0, 5.0, 6.4, 8.0, 10.0, 10.0, 12.0, 15.0, 21.1)
_DISTANCES_MI = (2.0, 3.0, 3.1, 4.0, 5.0, 6.2, 10.0, 13.1)
_MILES_SHARE = 0.3  # of pace and speed questions typed in miles
# Minutes per unit of distance a user types, by unit and situation (a ride is faster).
_MINUTES_PER = {
    ("km", "pace"): (4.2, 8.0),
    ("km", "speed"): (3.2, 7.5),
    ("mi", "pace"): (6.8, 12.9),
    ("mi", "speed"): (5.1, 12.0),
}
# How an answer names a unit of distance in a pace ("min per mile") and in a speed ("mph").
PER = {"km": "km", "mi": "mile"}
PER_HOUR = {"km": "km/h", "mi": "mph"}
# The words that ask for a unit, in kilometres or in miles, whatever the distance's unit.
_ASKS_KM = re.compile(
    r"\bper (?:km|k|kilomet\w+)\b|min(?:ute)?s? ?/ ?km|/km\b|km ?/ ?h\b|\bkmh\b|\bkph\b"
    r"|\b(?:km|kilomet\w+) (?:per|an) hour",
    re.IGNORECASE,
)
_ASKS_MILES = re.compile(
    r"\bper (?:mile|mi)\b|min(?:ute)?s? ?/ ?mi(?:le)?\b|/mi(?:le)?\b|\bmph\b"
    r"|\bmiles? (?:per|an) hour|\bmile pace",
    re.IGNORECASE,
)
# A template's words in kilometres made to ask in miles, longest first.
_TO_MILES = (
    (r"kilomet(?:re|er)s per hour|km per hour", "miles per hour"),
    (r"per kilomet(?:re|er)|per km\b", "per mile"),
    (r"km ?/ ?h\b|\bkmh\b", "mph"),
)


def unit_asked(question: str, distance_unit: str) -> str:
    """ "km" or "mi": the unit the question's words ask for, else the distance's."""
    if _ASKS_MILES.search(question) and not _ASKS_KM.search(question):
        return "mi"
    if _ASKS_KM.search(question) and not _ASKS_MILES.search(question):
        return "km"
    return distance_unit


def in_unit(distance: float, typed: str, unit: str) -> float:
    """`distance`, typed in `typed` ("km" or "mi"), in `unit`."""
    if unit == typed:
        return distance
    return distance * derived.KM_PER_MILE if typed == "mi" else distance / derived.KM_PER_MILE


def in_miles(template: str) -> str:
    """A template that asks per km asking per mile."""
    for words, miles in _TO_MILES:
        template = re.sub(words, miles, template, flags=re.IGNORECASE)
    return template


def draw(situation: str, template: str, rng: Random) -> tuple[str, dict[str, str], float, str, int]:
    """(template, its {d} and {t} slots, distance, its unit, minutes) for a pace or a speed."""
    unit = "mi" if rng.random() < _MILES_SHARE else "km"
    distance = rng.choice(_DISTANCES_MI if unit == "mi" else _DISTANCES_KM)
    per = rng.uniform(*_MINUTES_PER[unit, situation])
    minutes = max(1, round(distance * per))
    slots = {"d": _distance_text(distance, unit, rng), "t": _minutes_text(minutes, rng)}
    return (in_miles(template) if unit == "mi" else template), slots, distance, unit, minutes


def pace(
    distance: float, unit: str, minutes: int, rng: Random
) -> tuple[str, dict[str, Any], Asked]:
    p, c = derived.pace_minutes(distance, minutes), derived.pace_clock(distance, minutes)
    d, t, per = _distance_said(distance, unit), hm(minutes), PER[unit]
    text = rng.choice(
        (
            f"{d} in {t} is a pace of {p} min per {per} ({c} per {per}).",
            f"That works out to {c} per {per}, or {p} min per {per}: {t} over {d}.",
            f"Your pace was {p} min per {per} ({c} per {per}) for {d} in {t}.",
        )
    )
    name = "pace_min_per_km" if unit == "km" else "pace_min_per_mile"
    facts = {f"distance_{unit}": distance, "duration_min": minutes, name: p, "pace_clock": c}
    return text, facts, Asked(name, p, "min")


def speed(
    distance: float, unit: str, minutes: int, rng: Random
) -> tuple[str, dict[str, Any], Asked]:
    s = derived.speed_per_hour(distance, minutes)
    d, t, per_hour = _distance_said(distance, unit), hm(minutes), PER_HOUR[unit]
    text = rng.choice(
        (
            f"{d} in {t} is an average speed of {s} {per_hour}.",
            f"Your average speed was {s} {per_hour}: {d} covered in {t}.",
        )
    )
    name = "speed_km_per_h" if unit == "km" else "speed_mph"
    facts = {f"distance_{unit}": distance, "duration_min": minutes, name: s}
    return text, facts, Asked(name, s, None)


def _distance_said(distance: float, unit: str) -> str:
    return f"{distance:g} km" if unit == "km" else f"{distance:g} miles"


def _distance_text(distance: float, unit: str, rng: Random) -> str:
    n = f"{distance:g}"
    if unit == "mi":
        return rng.choice((f"{n} miles", f"{n} mi", f"{n}mi", f"{n} miles"))
    return rng.choice((f"{n} km", f"{n}km", f"{n} kilometres", f"{n} km", f"{n}k"))


def _minutes_text(minutes: int, rng: Random) -> str:
    if minutes >= 60 and rng.random() < 0.6:
        h, m = derived.hours_minutes(minutes)
        return rng.choice((f"{h} h {m} min", f"{h} hr {m} mins", f"{h} hours {m} minutes"))
    return rng.choice((f"{minutes} min", f"{minutes} mins", f"{minutes} minutes"))
