"""The fact vocabulary of an ETL narrative: every statistic `metadata.facts` may name, and its unit.

The ETL writer records each number it states as `metadata.facts`, `{name: value}`, in this
vocabulary (`health_training.etl.facts`), so an evaluation can check an answer's statements against
the statistic they claim to report ("peaked at 90 bpm" is wrong when 90 was the resting rate,
although 90 appears in the input). Names carry their unit; clock times are minutes after midnight
(`*_time`), durations minutes, shares percent.
"""

from __future__ import annotations

# name -> unit, for every fact the writer can record ("time": minutes after midnight).
FACT_UNITS: dict[str, str] = {
    "mean_glucose_mg_dl": "mg/dL",
    "min_glucose_mg_dl": "mg/dL",
    "max_glucose_mg_dl": "mg/dL",
    "glucose_sd_mg_dl": "mg/dL",
    "glucose_cv_pct": "%",
    "time_in_range_pct": "%",
    "time_below_range_pct": "%",
    "time_above_range_pct": "%",
    "hypoglycemic_events": "count",
    "hyperglycemic_events": "count",
    "gmi_pct": "%",
    "resting_hr_bpm": "bpm",
    "mean_hr_bpm": "bpm",
    "max_hr_bpm": "bpm",
    "max_hr_time": "time",
    **{f"zone{z}_min": "min" for z in range(1, 6)},
    "mean_rmssd_ms": "ms",
    "min_rmssd_ms": "ms",
    "max_rmssd_ms": "ms",
    "min_rmssd_time": "time",
    "max_rmssd_time": "time",
    "rmssd_trend_ms_per_h": "ms/h",
    "bedtime": "time",
    "wake_time": "time",
    "time_in_bed_min": "min",
    "asleep_min": "min",
    "sleep_efficiency_pct": "%",
    "sleep_latency_min": "min",
    **{f"{stage}_min": "min" for stage in ("awake", "light", "deep", "rem")},
    **{f"{stage}_pct": "%" for stage in ("awake", "light", "deep", "rem")},
    "total_steps": "steps",
    "step_goal": "steps",
    "steps_pct_of_goal": "%",
    "peak_hour_steps": "steps",
    "total_active_kcal": "kcal",
    "kcal_goal": "kcal",
    "kcal_pct_of_goal": "%",
    "peak_hour_kcal": "kcal",
    "peak_hour": "time",
    "active_hours": "count",
    "implausible_excluded": "count",
}
