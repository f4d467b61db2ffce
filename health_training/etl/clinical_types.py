"""The values clinical analysis reads and returns, and the references it judges them by.

`Reading` and `SleepStage` are what a raw batch holds; one frozen statistics class per record type
(`GlucoseStats` ... `GenericStats`), `Finding` and `Analysis` are what `clinical.analyze` returns
and what the narratives, the scores and `metadata.facts` are built from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

MAX_HR = 190  # the writer never sees the user's age, so zones use a fixed maximum
STEP_GOAL = 10_000
CALORIE_GOAL = 500
SLEEP_STAGES: tuple[str, ...] = ("awake", "light", "deep", "rem")
# Valid ranges; values outside are sensor errors, counted against quality and left out of stats.
VALID = {
    "glucose": (20.0, 600.0),
    "hr": (25.0, 250.0),
    "hrv": (3.0, 300.0),
    "steps": (0.0, 15_000.0),
    "kcal": (0.0, 1_500.0),
    "any": (-1e12, 1e12),
}


class Reading(NamedTuple):
    """One timestamped value; `minute` counts from local midnight of the batch's day.

    A NamedTuple, not a frozen dataclass: a benchmark builds tens of millions of these.
    """

    minute: int
    value: float

    def at(self, day: date) -> datetime:
        return datetime.combine(day, time()) + timedelta(minutes=self.minute)


class SleepStage(NamedTuple):
    """One staged segment of a night, in minutes from midnight of the night's start date."""

    start: int
    end: int
    stage: str  # one of SLEEP_STAGES


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable identifier, e.g. "hypoglycemia"
    severity: int  # 0 informational, 1 elevated, 2 high: indexes RELEVANCE_LEVELS
    insight: str  # short text for metadata.clinical_insights


@dataclass(frozen=True, slots=True)
class GlucoseStats:
    interval: int
    mean: int
    sd: int
    cv: int
    low: int
    high: int
    tir: int
    tbr: int
    tar: int
    hypo_events: int
    hyper_events: int
    gmi: float


@dataclass(frozen=True, slots=True)
class HeartRateStats:
    interval: int
    resting: int
    mean: int
    peak: int
    peak_at: int  # minute of the day
    zone_minutes: tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class HrvStats:
    mean: int
    low: int
    high: int
    low_at: int  # minutes of the day
    high_at: int
    slope: float  # ms per hour, least squares over the day


@dataclass(frozen=True, slots=True)
class SleepStats:
    bedtime: int
    wake: int
    in_bed: int
    asleep: int
    efficiency: int
    latency: int
    minutes: dict[str, int]  # per stage
    percent: dict[str, int]  # light/deep/rem as % of time asleep, awake as % of time in bed


@dataclass(frozen=True, slots=True)
class DailyTotalStats:
    total: int
    goal: int
    percent_of_goal: int
    peak_hour: int
    peak_value: int
    active_hours: int
    hours: int  # hours with data


@dataclass(frozen=True, slots=True)
class GenericStats:
    mean: float
    low: float
    high: float


Stats = GlucoseStats | HeartRateStats | HrvStats | SleepStats | DailyTotalStats | GenericStats


@dataclass(frozen=True, slots=True)
class Analysis:
    stats: Stats | None  # None when no usable reading is left
    findings: tuple[Finding, ...]
    readings: int
    excluded: int  # implausible values left out of the statistics
    coverage: float  # readings received / readings expected, at most 1
    completeness: float  # share of the expected window (hours, sleep stages) with data
