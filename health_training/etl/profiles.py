"""Synthetic wearable users: their lasting traits, and what each of their days holds.

Profiles mix diabetes (type 1 and 2, good to poor control), athletes, poor sleepers and sedentary
users aged 18-95, each with the devices they wear; a profile depends only on the seed and the
user's index. A `DayPlan` (hourly steps, one exercise bout or none) is shared by every record type
of the day, so heart rate, steps and calories agree with each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from random import Random

from health_training.data.domains import RECORD_TYPES

GLUCOSE, HR, HRV, SLEEP, STEPS, KCAL = RECORD_TYPES
# Relative steps per hour of the day.
_WEEKDAY = [0, 0, 0, 0, 0, 0, 1, 4, 6, 3, 3, 3, 6, 4, 3, 3, 4, 7, 6, 4, 3, 2, 1, 0]
_WEEKEND = [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 5, 6, 5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1, 0]


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: str
    age: int
    diabetes: str  # "", "t1" or "t2"
    control: float  # 0 good .. 1 poor; diabetes only
    athlete: bool
    sedentary: bool
    poor_sleeper: bool
    cgm_interval: int  # minutes between CGM values; 0: no CGM
    devices: frozenset[str]
    resting_hr: float
    hrv: float
    steps: float  # typical daily steps
    bedtime: int  # minutes after midnight of the night's date


def make_profile(seed: int, index: int) -> Profile:
    """A user's lasting traits, the same for a seed whichever months are generated."""
    rng = Random(f"{seed}:{index}")
    age = int(rng.triangular(18, 96, 42))
    u = rng.random()
    diabetes = "t1" if u < 0.08 else "t2" if u < (0.30 if age > 45 else 0.14) else ""
    sedentary = rng.random() < (0.4 if diabetes == "t2" or age > 70 else 0.26)
    athlete = not sedentary and rng.random() < (0.18 if age < 60 else 0.05)
    cgm = rng.random() < {"t1": 0.95, "t2": 0.75, "": 0.1}[diabetes]
    devices = {STEPS} | {
        t
        for t, share in ((HR, 0.95), (HRV, 0.7), (SLEEP, 0.85), (KCAL, 0.9))
        if rng.random() < share
    }
    rhr = rng.gauss(64, 7) - 12 * athlete + 6 * sedentary + (25 if rng.random() < 0.06 else 0)
    hrv = rng.gauss(78 - 0.65 * age, 9) + 20 * athlete - 8 * bool(diabetes)
    steps = (
        rng.gauss(13_000, 2500)
        if athlete
        else rng.gauss(3600, 1200)
        if sedentary
        else rng.gauss(7200, 2200)
    )
    poor = rng.random() < 0.22
    return Profile(
        f"user_{index:04d}",
        min(age, 95),
        diabetes,
        rng.random() if diabetes else 0.0,
        athlete,
        sedentary,
        poor,
        rng.choice((5, 5, 15)) if cgm else 0,
        frozenset(devices | ({GLUCOSE} if cgm else set())),
        min(max(rhr, 42), 112),
        max(hrv, 9),
        max(steps, 900) * (0.7 if age > 75 else 1.0),
        int(rng.gauss(1350 + 40 * poor, 35)),
    )


@dataclass(frozen=True, slots=True)
class DayPlan:
    """What happened that day, shared by all record types so they agree with each other."""

    hourly_steps: tuple[int, ...]
    exercise: tuple[int, int, float]  # start minute, minutes, share of 190 bpm; (0, 0, 0) if none


def plan_day(p: Profile, day: date, rng: Random) -> DayPlan:
    """The day's steps per hour and exercise bout, drawn first from the day's `rng`."""
    weekend = day.weekday() >= 5
    factor = max(0.15, rng.gauss(1.0, 0.3))
    exercise = (0, 0, 0.0)
    if rng.random() < (0.8 if p.athlete else 0.05 if p.sedentary else 0.25):
        start = rng.choice((360, 420, 1020, 1080, 1140)) + rng.randrange(60)
        exercise = (
            start,
            rng.randint(30, 100 if p.athlete else 60),
            rng.uniform(0.72, 0.93) if p.athlete else rng.uniform(0.62, 0.82),
        )
    weights = _WEEKEND if weekend else _WEEKDAY
    scale = p.steps * factor / sum(weights)
    hourly = [int(w * scale * rng.uniform(0.5, 1.5)) for w in weights]
    if exercise[1]:
        hour = exercise[0] // 60
        hourly[hour] = min(14_000, hourly[hour] + int(exercise[1] * 140 * exercise[2]))
    return DayPlan(tuple(hourly), exercise)
