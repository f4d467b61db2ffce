"""The measures a question can ask about: how users name them and how answers name them.

One row per fact of `etl/facts.py` that questions use. `names` holds how a user calls the measure in
each register ("casual": plain words, "clinical": the textbook term, "texting": abbreviations and
typos); `subject` is the answer's noun phrase. Subjects carry the cue words of `ml/evaluation/statements.py`
("resting", "average", "time in range", "total sleep", "took"...), so that the evaluation
attributes the number that follows to the right fact; a subject without such a cue would make a
correct answer read as a statement about some other fact.
"""

from __future__ import annotations

from health_training.etl.questions.measure import (
    CALORIES,
    GLUCOSE,
    HEART,
    HRV,
    REGISTERS,
    SLEEP,
    STEPS,
    Measure,
)
from health_training.etl.questions.measures_lookup import LOOKUP_MEASURES

__all__ = ["MEASURE", "MEASURES", "RECORD_HOLDS", "RECORD_TOPIC", "REGISTERS", "Measure"]

MEASURES: tuple[Measure, ...] = (
    Measure(
        "mean_glucose_mg_dl",
        GLUCOSE,
        "average glucose",
        ("average glucose", "average blood sugar", "mean blood sugar", "average sugar level"),
        ("mean glucose", "mean sensor glucose", "average interstitial glucose"),
        ("avg glucose", "avg sugar", "avg bg", "cgm avg", "avg blood sugar"),
    ),
    Measure(
        "time_in_range_pct",
        GLUCOSE,
        "time in range",
        ("time in range", "time in target range", "time in the target zone"),
        ("time in range", "percentage of time in range", "TIR"),
        ("tir", "time in range", "% in range", "time n range"),
    ),
    Measure(
        "time_below_range_pct",
        GLUCOSE,
        "time spent low",
        ("time spent low", "time below range", "time in the low zone"),
        ("time below range", "percentage of time below range", "TBR"),
        ("time low", "tbr", "% low", "time below rng"),
    ),
    # Time above range and time awake had no names until run 24: set G's "TAR 47%", "18% high"
    # and "awake 48 min" got no line part, and the served model skipped them or judged them by a
    # neighbouring measure's target ("18% ... within the target of under 4%").
    Measure(
        "time_above_range_pct",
        GLUCOSE,
        "time spent high",
        ("time spent high", "time above range", "time in the high zone"),
        ("time above range", "percentage of time above range", "TAR"),
        ("time high", "tar", "% high", "time above rng"),
    ),
    Measure(
        "glucose_cv_pct",
        GLUCOSE,
        "glucose CV",
        ("glucose variability", "glucose CV", "blood sugar variability"),
        ("coefficient of variation", "glycemic variability", "glucose CV"),
        ("cv", "glucose cv", "sugar variability", "bg cv"),
    ),
    Measure(
        "max_glucose_mg_dl",
        GLUCOSE,
        "highest glucose reading",
        ("highest glucose", "highest blood sugar", "peak glucose", "top sugar reading"),
        ("maximum glucose", "peak sensor glucose", "maximum glucose value"),
        ("max glucose", "highest bg", "max sugar", "peak bg"),
    ),
    Measure(
        "min_glucose_mg_dl",
        GLUCOSE,
        "lowest glucose reading",
        ("lowest glucose", "lowest blood sugar", "lowest sugar reading"),
        ("minimum glucose", "nadir glucose", "minimum glucose value"),
        ("min glucose", "lowest bg", "min sugar", "lowest sugar"),
    ),
    Measure(
        "gmi_pct",
        GLUCOSE,
        "GMI",
        ("GMI", "estimated A1c", "glucose management indicator"),
        ("glucose management indicator", "GMI", "estimated HbA1c (GMI)"),
        ("gmi", "est a1c", "gmi number"),
    ),
    Measure(
        "hypoglycemic_events",
        GLUCOSE,
        "hypoglycemic events",
        ("number of lows", "hypo count", "number of hypos", "low episodes", "hypo episodes"),
        ("number of hypoglycemic events", "hypoglycemic events", "hypoglycemic episodes"),
        ("hypos", "# of lows", "low count"),
    ),
    Measure(
        "resting_hr_bpm",
        HEART,
        "resting heart rate",
        ("resting heart rate", "resting pulse", "heart rate at rest"),
        ("resting heart rate", "resting HR", "resting pulse rate"),
        ("resting hr", "rhr", "resting bpm", "restin hr"),
    ),
    Measure(
        "mean_hr_bpm",
        HEART,
        "average heart rate",
        ("average heart rate", "average pulse", "typical heart rate"),
        ("mean heart rate", "average heart rate", "mean HR"),
        ("avg hr", "average hr", "avg pulse", "avg heartrate"),
    ),
    Measure(
        "max_hr_bpm",
        HEART,
        "peak heart rate",
        (
            "highest heart rate",
            "max heart rate",
            "peak heart rate",
            "top heart rate",
            "heart rate peak",
        ),
        ("maximum heart rate", "peak heart rate", "maximal HR"),
        ("max hr", "highest hr", "peak hr", "max heartrate"),
    ),
    Measure(
        "mean_rmssd_ms",
        HRV,
        "average HRV",
        ("HRV", "average HRV", "heart rate variability"),
        ("mean RMSSD", "heart rate variability (RMSSD)", "mean HRV"),
        ("hrv", "avg hrv", "rmssd", "hrv avg"),
    ),
    Measure(
        "min_rmssd_ms",
        HRV,
        "lowest HRV reading",
        ("lowest HRV", "lowest heart rate variability", "lowest HRV reading"),
        ("minimum RMSSD", "lowest RMSSD value"),
        ("min hrv", "lowest hrv", "hrv low"),
    ),
    Measure(
        "max_rmssd_ms",
        HRV,
        "highest HRV reading",
        ("highest HRV", "best HRV reading", "highest heart rate variability"),
        ("maximum RMSSD", "highest RMSSD value"),
        ("max hrv", "highest hrv", "top hrv"),
    ),
    Measure(
        "asleep_min",
        SLEEP,
        "total sleep",
        ("total sleep", "sleep time", "amount of sleep", "sleep duration"),
        ("total sleep time", "sleep duration", "total sleep duration"),
        ("sleep", "total sleep", "hrs of sleep", "sleep time", "slep"),
    ),
    Measure(
        "time_in_bed_min",
        SLEEP,
        "time in bed",
        ("time in bed", "time spent in bed"),
        ("time in bed", "total time in bed"),
        ("time in bed", "bed time total", "time n bed"),
    ),
    Measure(
        "sleep_efficiency_pct",
        SLEEP,
        "sleep efficiency",
        ("sleep efficiency", "sleep efficiency score"),
        ("sleep efficiency", "sleep efficiency percentage"),
        ("sleep eff", "efficiency", "sleep efficency"),
    ),
    Measure(
        "sleep_latency_min",
        SLEEP,
        "sleep latency",
        ("time to fall asleep", "sleep latency", "time falling asleep"),
        ("sleep onset latency", "sleep latency"),
        ("time 2 fall asleep", "latency", "sleep latency"),
    ),
    Measure(
        "awake_min",
        SLEEP,
        "time awake",
        ("time awake", "time spent awake", "awake time"),
        ("time awake in bed", "total wake time", "awake duration"),
        ("time awake", "awake time", "time awak"),
    ),
    Measure(
        "deep_min",
        SLEEP,
        "deep sleep",
        ("deep sleep", "amount of deep sleep", "deep sleep time"),
        ("slow-wave sleep", "deep sleep duration"),
        ("deep sleep", "deep", "deep slep"),
    ),
    Measure(
        "rem_min",
        SLEEP,
        "REM sleep",
        ("REM sleep", "amount of REM", "dream sleep"),
        ("REM sleep duration", "REM sleep"),
        ("rem", "rem sleep", "REM"),
    ),
    Measure(
        "deep_pct",
        SLEEP,
        "deep sleep share",
        ("share of deep sleep", "deep sleep percentage", "deep sleep share"),
        ("proportion of slow-wave sleep", "deep sleep percentage"),
        ("deep %", "deep sleep %", "% deep"),
    ),
    Measure(
        "rem_pct",
        SLEEP,
        "REM sleep share",
        ("share of REM sleep", "REM percentage", "REM share"),
        ("proportion of REM sleep", "REM sleep percentage"),
        ("rem %", "% rem", "rem share"),
    ),
    Measure(
        "bedtime",
        SLEEP,
        "bedtime",
        ("bedtime", "time I went to bed"),
        ("sleep onset time", "bedtime"),
        ("bedtime", "bed time"),
    ),
    Measure(
        "wake_time",
        SLEEP,
        "wake time",
        ("wake-up time", "time I woke up"),
        ("final awakening time", "wake time"),
        ("wake up time", "wakeup time"),
    ),
    Measure(
        "total_steps",
        STEPS,
        "step total",
        ("step count", "number of steps", "step total", "daily step count"),
        ("daily step count", "total step count"),
        ("steps", "step count", "stepz", "step total"),
    ),
    Measure(
        "peak_hour_steps",
        STEPS,
        "busiest hour",
        ("busiest hour for steps", "most active hour"),
        ("peak hourly step count", "most active hour"),
        ("busiest hr", "most steps in an hour"),
    ),
    Measure(
        "total_active_kcal",
        CALORIES,
        "active calorie total",
        ("active calories", "calories burned", "active energy"),
        ("active energy expenditure", "active calorie expenditure"),
        ("cals burned", "active cals", "calorie burn", "active energy"),
    ),
    Measure(
        "peak_hour_kcal",
        CALORIES,
        "most active hour",
        ("most active hour", "busiest hour for calories"),
        ("peak hour of energy expenditure", "most active hour"),
        ("busiest hr", "peak cal hour"),
    ),
)
MEASURES += LOOKUP_MEASURES
MEASURE: dict[str, Measure] = {m.fact: m for m in MEASURES}

# How each record type is described when an answer says what a record holds.
RECORD_HOLDS: dict[str, str] = {
    GLUCOSE: "a day of CGM glucose readings",
    HEART: "a day of heart-rate samples",
    HRV: "a day of heart rate variability (RMSSD) readings",
    SLEEP: "one night of sleep stages",
    STEPS: "a day of step counts",
    CALORIES: "a day of active-calorie counts",
}
# How a user names the whole record type ("my glucose", "my sleep").
RECORD_TOPIC: dict[str, tuple[str, ...]] = {
    GLUCOSE: ("glucose", "blood sugar", "sugar levels"),
    HEART: ("heart rate", "pulse"),
    HRV: ("HRV", "heart rate variability"),
    SLEEP: ("sleep",),
    STEPS: ("steps", "step count"),
    CALORIES: ("calorie burn", "active calories"),
}
