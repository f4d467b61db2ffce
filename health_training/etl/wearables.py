"""Synthetic wearable readings of one user-day, per record type, as a raw batch holds them.

Traces carry meals, dawn phenomenon, hypos, exercise, sensor gaps and sensor errors (a few
impossible values, which the writer must exclude). Noise comes from tables computed once; the
day's `Random` only picks where to read them, which keeps generation fast and reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from functools import partial
from itertools import repeat
from operator import add, mul
from random import Random

from health_training.data.domains import RECORD_TYPES
from health_training.etl.clinical_types import Reading, SleepStage
from health_training.etl.profiles import DayPlan, Profile

GLUCOSE, HR, HRV, SLEEP, STEPS, KCAL = RECORD_TYPES
_reading = partial(tuple.__new__, Reading)  # skips NamedTuple.__new__: four times cheaper
# Post-meal glucose response per minute after eating: peaks at 45 min, fades over about 4 h.
_MEAL = [x / 45 * math.exp(1 - x / 45) for x in range(300)]
# Dawn phenomenon: counter-regulatory hormones raise glucose from about 03:00 to 08:00.
_DAWN = [
    max(0.0, math.sin(math.pi * (m - 180) / 330)) if 180 <= m < 510 else 0.0 for m in range(1440)
]


def _noise_tables(size: int = 1 << 15) -> tuple[list[float], list[float]]:
    """Unit-variance white and AR(1) noise, computed once; a trace reads a random slice."""
    rng = Random(0)  # constants: the caller's seed picks where to read, not what is there
    white = [rng.gauss(0, 1) for _ in range(size)]
    red, x = [], 0.0
    for e in white:
        x = 0.85 * x + 0.527 * e  # 0.527 = sqrt(1 - 0.85**2) keeps the variance at 1
        red.append(x)
    return white, red


_WHITE, _RED = _noise_tables()
_WHITE2, _WHITE5 = [round(2 * x) for x in _WHITE], [round(5 * x) for x in _WHITE]


def _gaps(rng: Random, step: int, big: float) -> range:
    """A sensor or wear gap (minutes, bounds on the sampling grid) or an empty range."""
    if rng.random() < big:  # sensor failed, watch forgotten
        length = rng.randint(240, 900)
    elif rng.random() < 0.3:  # charging, a loose band
        length = rng.randint(30, 120)
    else:
        return range(0)
    start = rng.randrange(0, 1440, step)
    return range(start, start + max(step, length // step * step))


def _slice(table: list[float], rng: Random, n: int) -> list[float]:
    start = rng.randrange(len(table) - n)
    return table[start : start + n]


def _finish(
    minutes: list[int], values: list[float], rng: Random, errors: tuple[float, ...], share: float
) -> tuple[Reading, ...]:
    if rng.random() < share and values:  # a sensor error: a few impossible values
        for _ in range(rng.randint(1, 6)):
            values[rng.randrange(len(values))] = rng.choice(errors)
    return tuple(map(_reading, zip(minutes, values, strict=True)))


def _glucose(p: Profile, plan: DayPlan, rng: Random) -> tuple[Reading, ...]:
    c = p.control
    if p.diabetes:
        base, amp, dawn, sd = 100 + 80 * c + rng.gauss(0, 12), 45 + 120 * c, 10 + 35 * c, 6 + 6 * c
    else:
        base, amp, dawn, sd = rng.gauss(92, 5), 35.0, 4.0, 3.0
    events = [(int(rng.gauss(t, 30)), amp * rng.uniform(0.6, 1.3)) for t in (450, 760, 1140)]
    if rng.random() < 0.4:
        events.append((rng.randrange(600, 1300), amp * rng.uniform(0.2, 0.6)))  # a snack
    hypo_p = (0.12 + 0.45 * c) if p.diabetes == "t1" else 0.04 + 0.1 * c if p.diabetes else 0.0
    if rng.random() < hypo_p:  # a treated low: a dip to 45-65 mg/dL, then a rebound
        events.append(
            (
                rng.choice((rng.randrange(60, 360), rng.randrange(900, 1080))),
                -(base + amp * 0.5 - rng.uniform(45, 65)) / 0.85,
            )
        )
    if plan.exercise[1] and p.diabetes:
        events.append((plan.exercise[0], -amp * 0.4))
    step = p.cgm_interval
    size = 1440 // step
    noise = _slice(_RED, rng, size)
    curve = [base + dawn * d + sd * e for d, e in zip(_DAWN[::step], noise, strict=True)]
    for t0, a in events:  # add each response over its own window, with C-level maps
        i0 = max(0, -(-t0 // step))
        i1 = min(size, (t0 + 300) // step)
        if i1 > i0:
            kernel = map(mul, _MEAL[i0 * step - t0 :: step], repeat(a))
            curve[i0:i1] = map(add, curve[i0:i1], kernel)
    minutes = _grid(step, _gaps(rng, step, 0.06))
    # What a CGM reports: whole numbers from 40 to 400 mg/dL.
    values = [
        (round(v) if 40 <= v <= 400 else 40 if v < 40 else 400)
        for v in (curve[m // step] for m in minutes)
    ]
    return _finish(minutes, values, rng, (0.0, 1023.0, 5.0, 777.0), 0.03)


def _grid(step: int, gap: range) -> list[int]:
    """Sampling minutes of a day at `step`, without the gap (whose bounds are multiples of step)."""
    if not gap:
        return list(range(0, 1440, step))
    return [*range(0, min(gap.start, 1440), step), *range(gap.stop, 1440, step)]


def _heart_rate(p: Profile, plan: DayPlan, rng: Random) -> tuple[Reading, ...]:
    wake, bed = rng.randrange(330, 480, 5), min(1440, p.bedtime // 5 * 5)
    rest = round(p.resting_hr + rng.gauss(0, 2))
    awake = [round(rest + 8 + s / 90) for s in plan.hourly_steps]
    e2, e5 = _slice(_WHITE2, rng, 288), _slice(_WHITE5, rng, 288)
    # Integer noise and three branch-free stretches (asleep, awake, asleep): the hot loop of
    # the generator, so it stays in plain int additions.
    values = [rest - 2 + x for x in e2[: wake // 5]]
    values += [awake[i // 12] + e5[i] for i in range(wake // 5, bed // 5)]
    values += [rest - 2 + x for x in e2[bed // 5 :]]
    start, length, effort = plan.exercise
    for i in range(start // 5, min(288, (start + length) // 5)):
        values[i] = round(190 * effort) + e5[-i]
    minutes = _grid(5, _gaps(rng, 5, 0.04))
    if len(minutes) < 288:
        values = [values[m // 5] for m in minutes]
    return _finish(minutes, values, rng, (0, 255, 301), 0.02)


def _hrv(p: Profile, plan: DayPlan, rng: Random) -> tuple[Reading, ...]:
    base = p.hrv * max(0.5, rng.gauss(1.0, 0.12))
    # A bad day (stress, alcohol, illness) drags HRV down as the hours pass.
    decline = rng.uniform(0.02, 0.04) if rng.random() < 0.12 else 0.0
    minutes, values = [], []
    for hour in range(24):
        if rng.random() < 0.08:
            continue
        night = 1.25 if hour < 6 or hour >= 23 else 0.9
        minutes.append(hour * 60 + rng.randrange(60))
        values.append(round(base * night * (1 - decline * hour) * rng.uniform(0.8, 1.2), 1))
    return _finish(minutes, values, rng, (0.0, 999.0), 0.01)


def _sleep(p: Profile, day: date, rng: Random) -> tuple[SleepStage, ...]:
    late = 45 if day.weekday() in (4, 5) else 0
    t = p.bedtime + late + int(rng.gauss(0, 30))
    latency = int(rng.uniform(15, 70) if p.poor_sleeper else rng.uniform(3, 25))
    target = rng.gauss(300, 50) if p.poor_sleeper else rng.gauss(395, 45)
    segs = [SleepStage(t, t + latency, "awake")]
    t += latency
    slept, cycle = 0, 0
    while slept < target:
        deep = max(0, int(rng.gauss(30 - 9 * cycle, 6)))
        rem = max(5, int(rng.gauss(8 + 6 * cycle, 5)))
        for stage, mins in (
            ("light", rng.randint(25, 45)),
            ("deep", deep),
            ("light", rng.randint(5, 15)),
            ("rem", rem),
        ):
            if mins:
                segs.append(SleepStage(t, t + mins, stage))
                t, slept = t + mins, slept + mins
        if rng.random() < (0.45 if p.poor_sleeper else 0.15):
            wake = rng.randint(5, 40 if p.poor_sleeper else 15)
            segs.append(SleepStage(t, t + wake, "awake"))
            t += wake
        cycle += 1
    segs.append(SleepStage(t, t + rng.randint(1, 12), "awake"))
    if rng.random() < 0.04:  # the watch lost contact for part of the night
        del segs[rng.randrange(1, len(segs) - 1)]
    if rng.random() < 0.01:
        segs.append(SleepStage(t, t - 30, "unknown"))
    return tuple(segs)


def _hourly(values: Sequence[float], rng: Random, errors: tuple[float, ...]) -> tuple[Reading, ...]:
    minutes = _grid(60, _gaps(rng, 60, 0.05))
    return _finish(minutes, [values[m // 60] for m in minutes], rng, errors, 0.01)


def _calories(p: Profile, plan: DayPlan, rng: Random) -> list[float]:
    per_step = 0.045 if p.age < 60 else 0.04
    kcal = [round(s * per_step + rng.uniform(0, 6)) for s in plan.hourly_steps]
    start, length, effort = plan.exercise
    if length:
        kcal[start // 60] += round(length * 14 * effort * rng.uniform(0.8, 1.2))
    return kcal


def readings_for(
    record_type: str, p: Profile, day: date, plan: DayPlan, rng: Random
) -> tuple[Reading, ...] | tuple[SleepStage, ...]:
    """One record type's readings for a user-day (sleep: the night that starts that day)."""
    if record_type == GLUCOSE:
        return _glucose(p, plan, rng)
    if record_type == HR:
        return _heart_rate(p, plan, rng)
    if record_type == HRV:
        return _hrv(p, plan, rng)
    if record_type == SLEEP:
        return _sleep(p, day, rng)
    if record_type == STEPS:
        return _hourly(plan.hourly_steps, rng, (99_999.0, -40.0))
    return _hourly(_calories(p, plan, rng), rng, (9_999.0, -5.0))
