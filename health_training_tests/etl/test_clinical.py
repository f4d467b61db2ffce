"""Clinical statistics and findings on hand-built readings: glucose, heart, HRV, sleep, activity."""

from __future__ import annotations

from datetime import datetime

import pytest

from health_training.etl.clinical import (
    analyze_calories,
    analyze_glucose,
    analyze_heart_rate,
    analyze_hrv,
    analyze_sleep,
    analyze_steps,
)
from health_training.etl.clinical_types import Reading
from health_training.etl.reading_series import count_events
from health_training_tests.etl.samples import DAY, GOOD_NIGHT, READINGS, hourly, series


def test_glucose_statistics_on_known_readings():
    # 96 values every 15 min: 48 in range, 24 above 180, 24 below 70 in two separate runs of 12.
    values = [100] * 24 + [60] * 12 + [100] * 24 + [200] * 24 + [60] * 12
    stats = analyze_glucose(series(values, step=15)).stats
    assert (stats.tir, stats.tar, stats.tbr) == (50, 25, 25)
    assert stats.interval == 15
    assert stats.hypo_events == 2
    assert stats.hyper_events == 0
    assert stats.mean == round(sum(values) / len(values))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([100, 60, 60, 100], 0),  # 10 min below 70: not an event
        ([100, 60, 60, 60, 100], 1),  # 15 min: an event
        ([60, 60, 60, 100, 60, 60, 60, 60], 2),
        ([60] * 288, 1),
    ],
)
def test_hypo_events_need_fifteen_minutes(values, expected):
    minutes = [i * 5 for i in range(len(values))]
    assert count_events(minutes, values, True, 70, 5) == expected


def test_a_sensor_gap_ends_a_run():
    minutes = [0, 5, 10, 60, 65, 70]  # two 15-min runs, 50 min apart
    assert count_events(minutes, [60.0] * 6, True, 70, 5) == 2


def test_heart_rate_resting_and_zones():
    stats = analyze_heart_rate(READINGS["HeartRateRecord"]).stats
    assert stats.resting == 62
    assert stats.peak == 175
    assert stats.zone_minutes == (0, 0, 0, 0, 60)  # 175 bpm is 92 % of 190: zone 5, 12 x 5 min


def test_hrv_trend_is_the_slope_per_hour():
    stats = analyze_hrv(hourly([30 + h for h in range(24)])).stats
    assert stats.slope == 1.0
    assert (stats.low, stats.high) == (30, 53)
    declining = analyze_hrv(hourly([60 - 2 * h for h in range(24)]))
    assert "declining_hrv" in {f.code for f in declining.findings}


def test_sleep_efficiency_latency_and_stages():
    stats = analyze_sleep(GOOD_NIGHT).stats
    assert stats.in_bed == 480
    assert stats.asleep == 450
    assert stats.efficiency == round(100 * 450 / 480)
    assert stats.latency == 10
    assert stats.minutes == {"awake": 30, "light": 250, "deep": 80, "rem": 120}
    assert stats.percent["deep"] == round(100 * 80 / 450)
    assert stats.percent["awake"] == round(100 * 30 / 480)


def test_steps_and_calories_against_their_goals():
    steps = analyze_steps(READINGS["StepsRecord"]).stats
    assert (steps.total, steps.percent_of_goal, steps.peak_hour, steps.active_hours) == (
        11_100,
        111,
        7,
        17,
    )
    assert analyze_steps(READINGS["StepsRecord"], goal=20_000).stats.percent_of_goal == 56
    kcal = analyze_calories(READINGS["ActiveCaloriesBurnedRecord"]).stats
    assert (kcal.total, kcal.goal, kcal.percent_of_goal, kcal.peak_hour) == (520, 500, 104, 7)


def test_nan_and_unsorted_readings_are_handled():
    values = [float("nan")] + [120.0] * 95
    analysis = analyze_glucose(tuple(reversed(series(values, step=15))))
    assert analysis.excluded == 1
    assert analysis.stats.mean == 120
    assert Reading(90, 1.0).at(DAY) == datetime(2025, 1, 3, 1, 30)
