"""The facts behind an ETL narrative: which statistic each number in it came from.

The ETL writer computes every number it states (`clinical.analyze`) and records them as
`metadata.facts`, `{name: value}`, in the vocabulary below, so an evaluation can check an answer's
statements against the statistic they claim to report ("peaked at 90 bpm" is wrong when 90 was
the resting rate, although 90 appears in the input). Names carry their unit; clock times are
minutes after midnight (`*_time`), durations minutes, shares percent.
"""

from __future__ import annotations

from typing import Any

from health_training.data.clinical import (
    DailyTotalStats,
    GlucoseStats,
    HeartRateStats,
    HrvStats,
    SleepStats,
    Stats,
)

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


def facts_of(stats: Stats | None, record_type: str, excluded: int = 0) -> dict[str, Any]:
    """The facts a narrative about `stats` may state, in FACT_UNITS' vocabulary."""
    facts: dict[str, Any] = {"implausible_excluded": excluded} if excluded else {}
    if isinstance(stats, GlucoseStats):
        facts |= {
            "mean_glucose_mg_dl": stats.mean,
            "min_glucose_mg_dl": stats.low,
            "max_glucose_mg_dl": stats.high,
            "glucose_sd_mg_dl": stats.sd,
            "glucose_cv_pct": stats.cv,
            "time_in_range_pct": stats.tir,
            "time_below_range_pct": stats.tbr,
            "time_above_range_pct": stats.tar,
            "hypoglycemic_events": stats.hypo_events,
            "hyperglycemic_events": stats.hyper_events,
            "gmi_pct": stats.gmi,
        }
    elif isinstance(stats, HeartRateStats):
        facts |= {
            "resting_hr_bpm": stats.resting,
            "mean_hr_bpm": stats.mean,
            "max_hr_bpm": stats.peak,
            "max_hr_time": stats.peak_at % 1440,
            **{f"zone{z}_min": m for z, m in enumerate(stats.zone_minutes, start=1)},
        }
    elif isinstance(stats, HrvStats):
        facts |= {
            "mean_rmssd_ms": stats.mean,
            "min_rmssd_ms": stats.low,
            "max_rmssd_ms": stats.high,
            "min_rmssd_time": stats.low_at % 1440,
            "max_rmssd_time": stats.high_at % 1440,
            "rmssd_trend_ms_per_h": stats.slope,
        }
    elif isinstance(stats, SleepStats):
        facts |= {
            "bedtime": stats.bedtime % 1440,
            "wake_time": stats.wake % 1440,
            "time_in_bed_min": stats.in_bed,
            "asleep_min": stats.asleep,
            "sleep_efficiency_pct": stats.efficiency,
            "sleep_latency_min": stats.latency,
            **{f"{k}_min": v for k, v in stats.minutes.items()},
            **{f"{k}_pct": v for k, v in stats.percent.items()},
        }
    elif isinstance(stats, DailyTotalStats):
        steps = record_type == "StepsRecord"
        prefix = ("total_steps", "step_goal", "steps_pct_of_goal", "peak_hour_steps")
        if not steps:
            prefix = ("total_active_kcal", "kcal_goal", "kcal_pct_of_goal", "peak_hour_kcal")
        facts |= dict(
            zip(
                prefix,
                (stats.total, stats.goal, stats.percent_of_goal, stats.peak_value),
                strict=True,
            )
        )
        facts |= {"peak_hour": stats.peak_hour * 60, "active_hours": stats.active_hours}
    return facts
