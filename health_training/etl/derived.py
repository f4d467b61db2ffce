"""Values derived from stated ones by fixed rules: the computations an answer may do.

The question writer (`etl/questions`) computes these for its reference answers, and the
serving-time grounding (`ml/evaluation/grounding.py`) computes the same ones from the numbers a request
states, so a number the model derives by these rules is supported and any other is not. Pure
functions of plain numbers; rounding is part of each rule (one decimal for a pace, whole units
otherwise), because the answer quotes the rounded value.
"""

from __future__ import annotations

KM_PER_MILE = 1.609344  # international mile


def pace_minutes(distance: float, minutes: float) -> float:
    """Running or walking pace in minutes per unit of `distance` (km or miles), one decimal
    (5.0 km in 27 min: 5.4 min per km)."""
    if distance <= 0:
        raise ValueError("distance must be positive")
    return round(minutes / distance, 1)


def pace_clock(distance: float, minutes: float) -> str:
    """The same pace as min:sec per unit of distance ("5:24"), the way runners write it."""
    seconds = round(60 * minutes / distance)
    return f"{seconds // 60}:{seconds % 60:02d}"


def speed_per_hour(distance: float, minutes: float) -> float:
    """Distance per hour in the distance's unit (km/h or mph), one decimal."""
    if minutes <= 0:
        raise ValueError("duration must be positive")
    return round(60 * distance / minutes, 1)


def energy_balance(intake_kcal: float, burned_kcal: float) -> int:
    """Intake minus expenditure in kcal: positive is a surplus, negative a deficit."""
    return round(intake_kcal - burned_kcal)


def clock_minutes(text: str) -> int:
    """ "23:40" -> 1420 (minutes after midnight)."""
    hours, _, minutes = text.partition(":")
    return int(hours) % 24 * 60 + int(minutes or 0)


def sleep_minutes(bedtime_min: int, wake_min: int) -> int:
    """Minutes from bedtime to wake time across midnight (23:40 -> 07:10: 450)."""
    return (wake_min - bedtime_min) % 1440


def hours_minutes(minutes: int) -> tuple[int, int]:
    """450 -> (7, 30): how a duration is said."""
    return divmod(int(minutes), 60)


def change(before: float, after: float) -> float:
    """after - before, to the precision of the inputs (one decimal at most)."""
    return round(after - before, 1) if _fractional(before, after) else round(after - before)


def percent_change(before: float, after: float) -> int:
    if before == 0:
        raise ValueError("a change from 0 has no percentage")
    return round(100 * (after - before) / before)


def share_pct(part: float, total: float) -> int:
    """part as a whole-number percentage of total (384 of 417: 92)."""
    if total <= 0:
        raise ValueError("total must be positive")
    return round(100 * part / total)


def gmi_percent(mean_glucose_mg_dl: float) -> float:
    """Glucose management indicator (an estimated HbA1c, %) from a CGM mean, one decimal
    (Bergenstal et al. 2018: 3.31 + 0.02392 x mean mg/dL; 163 mg/dL: 7.2)."""
    return round(3.31 + 0.02392 * mean_glucose_mg_dl, 1)


def _fractional(*values: float) -> bool:
    return any(float(v) != int(v) for v in values)
