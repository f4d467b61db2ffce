"""Clinical statistics and findings for one day of wearable readings, per record type.

Pure functions: readings in, rounded statistics and findings out. Values are rounded here, once,
so every sentence the ETL writer builds quotes exactly the same numbers in `input` and `output`
(a later evaluator checks the answer's numbers against the input), and thresholds judge the
rounded value that the text shows. Reference points: CGM time in range 70-180 mg/dL, CV above
36 % unstable (International Consensus on Time in Range, 2019); heart-rate zones as % of a 190 bpm
maximum; sleep efficiency 85 %, under 7 h short (CDC); RMSSD below 20 ms low.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from operator import mul

from health_training.etl.clinical_types import (
    CALORIE_GOAL,
    MAX_HR,
    SLEEP_STAGES,
    STEP_GOAL,
    Analysis,
    Finding,
    GenericStats,
    GlucoseStats,
    HeartRateStats,
    HrvStats,
    Reading,
    SleepStage,
    SleepStats,
)
from health_training.etl.reading_series import (
    count_events,
    coverage_of,
    daily_total,
    percent_of,
    series_of,
)


def analyze_glucose(readings: tuple[Reading, ...]) -> Analysis:
    minutes, vals, ranked = series_of(readings, "glucose")
    n = len(vals)
    if not n:
        return Analysis(None, (), len(readings), len(readings), 0.0, 0.0)
    interval, coverage, complete = coverage_of(minutes, 15)
    mean = sum(vals) / n
    sd = max(0.0, sum(map(mul, vals, vals)) / n - mean * mean) ** 0.5
    below, above = bisect_left(ranked, 70), n - bisect_right(ranked, 180)
    hypos = count_events(minutes, vals, True, 70, interval) if below else 0
    hypers = count_events(minutes, vals, False, 250, interval) if ranked[-1] > 250 else 0
    s = GlucoseStats(
        interval,
        round(mean),
        round(sd),
        round(100 * sd / mean),
        round(ranked[0]),
        round(ranked[-1]),
        percent_of(n - below - above, n),
        percent_of(below, n),
        percent_of(above, n),
        hypos,
        hypers,
        round(3.31 + 0.02392 * mean, 1),
    )
    f: list[Finding] = []
    if s.hypo_events:
        f.append(
            Finding("hypoglycemia", 2, f"{s.hypo_events} hypoglycemic event(s) below 70 mg/dL")
        )
    elif s.tbr > 4:
        f.append(Finding("time_below_range", 2, f"Time below range {s.tbr}% (above 4%)"))
    if s.tir < 50:
        f.append(Finding("very_low_tir", 2, f"Time in range {s.tir}% (below 50%)"))
    elif s.tir < 70:
        f.append(Finding("low_tir", 1, f"Time in range {s.tir}% (below 70% target)"))
    if s.cv > 36:
        f.append(Finding("unstable", 1, f"Glucose variability CV {s.cv}% (unstable, above 36%)"))
    if s.hyper_events:
        f.append(Finding("hyperglycemia", 1, f"{s.hyper_events} episode(s) above 250 mg/dL"))
    if s.mean > 154 and s.tir >= 50:
        f.append(Finding("high_mean", 1, f"Mean glucose {s.mean} mg/dL (GMI {s.gmi:.1f}%)"))
    return Analysis(s, tuple(f), len(readings), len(readings) - n, coverage, complete)


def analyze_heart_rate(readings: tuple[Reading, ...], max_hr: int = MAX_HR) -> Analysis:
    minutes, series, vals = series_of(readings, "hr")
    excluded = len(readings) - len(vals)
    if not vals:
        return Analysis(None, (), len(readings), excluded, 0.0, 0.0)
    interval, coverage, complete = coverage_of(minutes, 5)
    # Zone 1 is 50-60 % of the maximum ... zone 5 is 90 % and above.
    above = [len(vals) - bisect_left(vals, pct * max_hr / 100) for pct in (50, 60, 70, 80, 90)]
    zones = [(above[i] - (above[i + 1] if i < 4 else 0)) * interval for i in range(5)]
    s = HeartRateStats(
        interval,
        round(vals[int(0.05 * (len(vals) - 1))]),
        round(sum(vals) / len(vals)),
        round(vals[-1]),
        minutes[series.index(vals[-1])],
        tuple(zones),
    )  # type: ignore[arg-type]
    f: list[Finding] = []
    if s.resting > 100:
        f.append(Finding("tachycardia", 2, f"Resting heart rate {s.resting} bpm (tachycardic)"))
    elif s.resting > 85:
        f.append(Finding("elevated_resting", 1, f"Elevated resting heart rate {s.resting} bpm"))
    elif s.resting < 40:
        f.append(Finding("bradycardia", 1, f"Resting heart rate {s.resting} bpm (bradycardic)"))
    if s.peak > max_hr:
        f.append(Finding("above_max", 1, f"Peak {s.peak} bpm above the {max_hr} bpm reference"))
    if zones[3] + zones[4] >= 20:
        f.append(Finding("vigorous", 0, "Sustained vigorous activity (zones 4-5)"))
    elif sum(zones[1:]) < 10:
        f.append(Finding("inactive", 1, "No moderate activity (under 10 min above zone 1)"))
    return Analysis(s, tuple(f), len(readings), excluded, coverage, complete)


def analyze_hrv(readings: tuple[Reading, ...]) -> Analysis:
    minutes, ys, ranked = series_of(readings, "hrv")
    excluded = len(readings) - len(ys)
    if not ys:
        return Analysis(None, (), len(readings), excluded, 0.0, 0.0)
    _, coverage, complete = coverage_of(minutes, 60)
    n = len(ys)
    xs = [m / 60 for m in minutes]
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    s = HrvStats(
        round(my),
        round(ranked[0]),
        round(ranked[-1]),
        minutes[ys.index(ranked[0])],
        minutes[ys.index(ranked[-1])],
        round(slope, 1) + 0.0,
    )
    f: list[Finding] = []
    if s.mean < 20:
        f.append(Finding("low_hrv", 2, f"Low HRV: mean RMSSD {s.mean} ms (below 20 ms)"))
    elif s.mean < 30:
        f.append(Finding("reduced_hrv", 1, f"Reduced HRV: mean RMSSD {s.mean} ms"))
    if s.slope <= -1.0:
        f.append(Finding("declining_hrv", 1, f"HRV declining {abs(s.slope):.1f} ms per hour"))
    elif s.mean >= 60:
        f.append(Finding("high_hrv", 0, "High HRV suggests good recovery"))
    return Analysis(s, tuple(f), len(readings), excluded, coverage, complete)


def analyze_sleep(stages: tuple[SleepStage, ...]) -> Analysis:
    segs = sorted(
        s
        for s in stages
        if isinstance(s, SleepStage) and s.end > s.start and s.stage in SLEEP_STAGES
    )
    bedtime = segs[0].start if segs else 0
    wake = max((s.end for s in segs), default=0)
    if not segs or wake - bedtime > 18 * 60:  # a "night" over 18 h is a recording fault
        return Analysis(None, (), len(stages), len(stages), 0.0, 0.0)
    minutes = dict.fromkeys(SLEEP_STAGES, 0)
    for seg in segs:
        minutes[seg.stage] += seg.end - seg.start
    asleep = minutes["light"] + minutes["deep"] + minutes["rem"]
    in_bed = wake - bedtime
    onset = next((s.start for s in segs if s.stage != "awake"), wake)
    percent = {k: percent_of(minutes[k], asleep) for k in ("light", "deep", "rem")}
    percent["awake"] = percent_of(minutes["awake"], wake - bedtime)
    s = SleepStats(
        bedtime, wake, in_bed, asleep, percent_of(asleep, in_bed), onset - bedtime, minutes, percent
    )
    f: list[Finding] = []
    if asleep < 300:
        f.append(Finding("very_short_sleep", 2, f"Very short sleep: {asleep} min"))
    elif asleep < 420:
        f.append(Finding("short_sleep", 1, f"Short sleep: {asleep} min (under 7 h)"))
    elif asleep > 600:
        f.append(Finding("long_sleep", 1, f"Long sleep: {asleep} min (over 10 h)"))
    if s.efficiency < 75:
        f.append(Finding("very_low_efficiency", 2, f"Sleep efficiency {s.efficiency}% (poor)"))
    elif s.efficiency < 85:
        f.append(Finding("low_efficiency", 1, f"Sleep efficiency {s.efficiency}% (below 85%)"))
    if s.latency > 30:
        f.append(Finding("long_latency", 1, f"Prolonged sleep latency {s.latency} min"))
    if percent["deep"] < 10:
        f.append(Finding("low_deep", 0, f"Low deep sleep share {percent['deep']}%"))
    if percent["rem"] < 15:
        f.append(Finding("low_rem", 0, f"Low REM share {percent['rem']}%"))
    staged = sum(minutes.values())
    present = sum(minutes[k] > 0 for k in ("light", "deep", "rem"))
    return Analysis(
        s, tuple(f), len(stages), len(stages) - len(segs), min(1.0, staged / in_bed), present / 3
    )


def analyze_steps(readings: tuple[Reading, ...], goal: int = STEP_GOAL) -> Analysis:
    a, s = daily_total(readings, "steps", goal, 250)
    if s is None:
        return a
    f: list[Finding] = []
    if s.total < 2_500:
        f.append(Finding("very_sedentary", 2, f"Very low activity: {s.total:,} steps"))
    elif s.total < 5_000:
        f.append(Finding("sedentary", 1, f"Sedentary day: {s.total:,} steps"))
    elif s.total < 7_500:
        f.append(Finding("low_active", 1, f"Low activity: {s.total:,} steps"))
    elif s.total >= goal:
        f.append(Finding("goal_met", 0, f"Step goal met ({s.percent_of_goal}% of goal)"))
    if s.active_hours < 4:
        f.append(Finding("few_active_hours", 0, f"Active hours: {s.active_hours} (under 4)"))
    return Analysis(s, tuple(f), a.readings, a.excluded, a.coverage, a.completeness)


def analyze_calories(readings: tuple[Reading, ...], goal: int = CALORIE_GOAL) -> Analysis:
    a, s = daily_total(readings, "kcal", goal, 30)
    if s is None:
        return a
    f: list[Finding] = []
    if s.percent_of_goal < 40:
        f.append(Finding("low_expenditure", 1, f"Low active energy: {s.total} kcal"))
    elif s.total >= goal:
        f.append(Finding("goal_met", 0, f"Active calorie goal met ({s.total} kcal)"))
    if s.percent_of_goal > 300:
        f.append(Finding("very_high_expenditure", 1, f"Very high expenditure: {s.total} kcal"))
    return Analysis(s, tuple(f), a.readings, a.excluded, a.coverage, a.completeness)


def analyze_generic(readings: tuple[Reading, ...]) -> Analysis:
    """Record types the writer does not know: describe the values, judge nothing."""
    pts = [
        r for r in readings if len(r) == 2 and isinstance(r[1], int | float) and abs(r[1]) < 1e12
    ]  # NaN fails too
    if not pts:
        return Analysis(None, (), len(readings), len(readings), 0.0, 0.0)
    vals = [r[1] for r in pts]
    hours = len({r[0] // 60 for r in pts})
    s = GenericStats(round(sum(vals) / len(vals), 1), round(min(vals), 1), round(max(vals), 1))
    return Analysis(s, (), len(readings), len(readings) - len(pts), 1.0, min(1.0, hours / 24))


def analyze(record_type: str, readings: tuple) -> Analysis:
    """Dispatch on the record type; unknown types get `analyze_generic`."""
    fn = ANALYZERS.get(record_type, analyze_generic)
    return fn(readings)


ANALYZERS = {
    "BloodGlucoseRecord": analyze_glucose,
    "HeartRateRecord": analyze_heart_rate,
    "HeartRateVariabilityRmssdRecord": analyze_hrv,
    "SleepSessionRecord": analyze_sleep,
    "StepsRecord": analyze_steps,
    "ActiveCaloriesBurnedRecord": analyze_calories,
}
