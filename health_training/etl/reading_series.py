"""Readings as series the clinical analyzers compute on: the valid values and their minutes of one
kind (`series_of`), how much of the day they cover (`coverage_of`), whole percentages (`percent_of`), runs of
readings past a threshold (`count_events`) and a day's total from cumulative or interval readings
(`daily_total`)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import repeat
from operator import gt, sub

from health_training.etl.clinical_types import (
    VALID,
    Analysis,
    DailyTotalStats,
    Reading,
)


def series_of(
    readings: tuple[Reading, ...], kind: str
) -> tuple[list[int], list[float], list[float]]:
    """Minutes and values of the plausible readings in time order, and the values sorted."""
    if not readings:
        return [], [], []
    lo, hi = VALID[kind]
    # Fast path, C-level passes only (this runs millions of times): all valid and in time order.
    # sorted() beats min() + max() on floats; the sum is NaN if any value is, which sorting hides.
    minutes, values = zip(*readings, strict=True)
    ranked = sorted(values)
    total = sum(values)
    if total == total and lo <= ranked[0] and ranked[-1] <= hi and sorted(minutes) == list(minutes):
        return list(minutes), list(values), ranked
    pts = sorted(r for r in readings if lo <= r[1] <= hi)
    if not pts:
        return [], [], []
    minutes, values = zip(*pts, strict=True)
    return list(minutes), list(values), sorted(values)


def coverage_of(minutes: list[int], nominal: int) -> tuple[int, float, float]:
    """Sampling interval (median gap, at most `nominal`), coverage and share of hours covered."""
    gaps = sorted(map(sub, minutes[1:], minutes))
    gaps = gaps[bisect_right(gaps, 0) :]  # duplicate timestamps are not a sampling interval
    interval = max(1, min(nominal, gaps[len(gaps) // 2])) if gaps else nominal
    edges = list(map(bisect_left, repeat(minutes), range(0, 1500, 60)))
    hours = sum(map(gt, edges[1:], edges))
    return interval, min(1.0, len(minutes) * interval / 1440), hours / 24


def percent_of(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole else 0


def count_events(
    minutes: list[int],
    values: list[float],
    below: bool,
    threshold: float,
    interval: int,
    min_minutes: int = 15,
) -> int:
    """Runs beyond `threshold` lasting `min_minutes` or more; a gap over 2 intervals ends a run."""
    hits = [i for i, v in enumerate(values) if (v < threshold if below else v > threshold)]
    events, first = 0, 0
    for k in range(1, len(hits) + 1):
        i = hits[k - 1]
        if k < len(hits) and hits[k] == i + 1 and minutes[i + 1] - minutes[i] <= 2 * interval:
            continue  # the run goes on
        if minutes[i] - minutes[hits[first]] + interval >= min_minutes:
            events += 1
        first = k
    return events


def daily_total(
    readings: tuple[Reading, ...], kind: str, goal: int, active_threshold: float
) -> tuple[Analysis, DailyTotalStats | None]:
    minutes, values, _ = series_of(readings, kind)
    excluded = len(readings) - len(values)
    if not values:
        return Analysis(None, (), len(readings), excluded, 0.0, 0.0), None
    _, coverage, complete = coverage_of(minutes, 60)
    hourly: dict[int, float] = {}
    for minute, value in zip(minutes, values, strict=True):
        hourly[minute // 60] = hourly.get(minute // 60, 0.0) + value
    peak_hour = max(hourly, key=lambda h: (hourly[h], -h))
    total = round(sum(hourly.values()))
    s = DailyTotalStats(
        total,
        goal,
        percent_of(total, goal),
        peak_hour % 24,
        round(hourly[peak_hour]),
        sum(v >= active_threshold for v in hourly.values()),
        len(hourly),
    )
    return Analysis(s, (), len(readings), excluded, coverage, complete), s
