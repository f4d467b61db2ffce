"""`metadata.facts`: what the writer records is in the data contract's vocabulary and true."""

from __future__ import annotations

import pytest

from health_training.data.domains import RECORD_TYPES
from health_training.data.fact_vocabulary import FACT_UNITS
from health_training.etl.clinical import analyze_calories, analyze_heart_rate, analyze_steps
from health_training.etl.clinical_types import Reading
from health_training.etl.facts import facts_of
from health_training.etl.writer import write_example
from health_training_tests.etl.samples import PROCESSED, READINGS, batch, hourly


@pytest.mark.parametrize("record_type", [*RECORD_TYPES, "BodyTemperatureRecord"])
def test_every_recorded_fact_is_in_the_vocabulary(record_type):
    readings = READINGS.get(record_type, hourly([36.6 + i / 10 for i in range(24)]))
    if record_type != "SleepSessionRecord":  # one implausible value: its count is a fact too
        readings = (*readings[1:], Reading(readings[0].minute, 99_999.0))
    facts = write_example(batch(record_type, readings), processed_at=PROCESSED)["metadata"]["facts"]
    assert set(facts) <= set(FACT_UNITS)
    if record_type in RECORD_TYPES:
        assert len(facts) >= 4


def test_facts_name_the_statistic_each_number_reports():
    steps = facts_of(analyze_steps(READINGS["StepsRecord"]).stats, "StepsRecord")
    assert (steps["total_steps"], steps["step_goal"], steps["peak_hour"]) == (11_100, 10_000, 420)
    kcal = analyze_calories(READINGS["ActiveCaloriesBurnedRecord"]).stats
    assert facts_of(kcal, "ActiveCaloriesBurnedRecord")["total_active_kcal"] == 520
    heart = facts_of(analyze_heart_rate(READINGS["HeartRateRecord"]).stats, "HeartRateRecord")
    assert (heart["resting_hr_bpm"], heart["max_hr_bpm"], heart["zone5_min"]) == (62, 175, 60)


def test_no_statistics_leave_only_the_excluded_count():
    assert facts_of(None, "HeartRateRecord", excluded=2) == {"implausible_excluded": 2}
    assert facts_of(None, "HeartRateRecord") == {}
