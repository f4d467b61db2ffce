"""Which statistic each number of an ETL narrative reports: the `metadata.facts` of an example.

The writer states only numbers it computed (`clinical.analyze`); `facts_of` records them as
`{name: value}` in the vocabulary of `data.fact_vocabulary` (`FACT_UNITS`), so an evaluation can check an
answer's statements against the statistic they claim to report ("peaked at 90 bpm" is wrong when
90 was the resting rate, although 90 appears in the input).
"""

from __future__ import annotations

from typing import Any

from health_training.etl.clinical_types import (
    DailyTotalStats,
    GlucoseStats,
    HeartRateStats,
    HrvStats,
    SleepStats,
    Stats,
)


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
