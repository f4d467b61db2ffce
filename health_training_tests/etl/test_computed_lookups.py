"""The computed line where served sets C and E found it wrong: a look-up gets the value the
question names, as the record holds it, and no neighbouring verdict (run 19 answered "whats the
lowest my hrv got" with the average HRV's verdict the line gave it); what one record cannot give
comes before any arithmetic; a year is no value."""

from __future__ import annotations

import pytest

from health_training.etl.computed import computed_facts

HRV = (
    "Record type: HeartRateVariabilityRmssdRecord. Date: 2025-05-02. Readings: 24 values. Mean "
    "RMSSD 41 ms (lowest 17 ms at 03:12, highest 66 ms at 21:40); linear trend over the day "
    "+0.3 ms per hour. Reference: RMSSD below 20 ms is low, 20-30 ms reduced."
)
SLEEP = (
    "Record type: SleepSessionRecord. Night: 2025-05-02. Readings: 20 stage segments. Sleep "
    "session 23:10-06:40: 450 min in bed, 421 min asleep (7 h 1 min). Sleep efficiency 94% "
    "(reference 85% or more); sleep latency 12 min (reference 30 min or less). Stages: awake "
    "29 min (6% of time in bed), light 230 min (55%), deep 71 min (17%), REM 120 min (29%)."
)
GLUCOSE = (
    "Record type: BloodGlucoseRecord. Date: 2025-05-02. Readings: 96 CGM values at 15-minute "
    "intervals. Mean glucose 151 mg/dL (range 52-288 mg/dL), SD 48 mg/dL, CV 32% (stable at 36% "
    "or below). Time in range 70-180 mg/dL: 71% (target above 70%); below 70 mg/dL: 5% (target "
    "below 4%); above 180 mg/dL: 24%. Hypoglycemic events (below 70 mg/dL for 15 min or more): "
    "2. Hyperglycemic events (above 250 mg/dL for 15 min or more): 1. Glucose management "
    "indicator (GMI) 6.9%."
)
HEART = (
    "Record type: HeartRateRecord. Date: 2025-05-02. Readings: 270 heart-rate samples at "
    "5-minute intervals. Resting heart rate 57 bpm (5th percentile), mean 73 bpm, maximum 164 "
    "bpm at 18:05."
)
LINE = "Computed from your numbers: "


@pytest.mark.parametrize(
    ("question", "context", "line"),
    [
        ("whats the lowest my hrv got", HRV, "lowest HRV reading 17 ms."),
        ("and the highest hrv?", HRV, "highest HRV reading 66 ms."),
        ("how many minutes of deep sleep did i get", SLEEP, "deep sleep 71 min"),
        ("mins of REM?", SLEEP, "REM sleep 120 min"),
        ("number of hypos that day", GLUCOSE, "hypoglycemic events 2."),
        ("what was my GMI", GLUCOSE, "GMI 6.9%."),
        ("whats my avg hr", HEART, "average heart rate 73 bpm."),
    ],
)
def test_a_named_value_with_no_rule_is_the_records_value(question, context, line):
    assert computed_facts(question, context).startswith(LINE)
    assert line in computed_facts(question, context)


def test_a_named_value_is_never_judged_as_a_neighbouring_measure():
    assert "average HRV" not in computed_facts("whats the lowest my hrv got", HRV)
    below = computed_facts("how much time was i below 70 that day", GLUCOSE)
    assert below == f"{LINE}time spent low 5% is above the 4% target for time below 70 mg/dL."
    assert "time in range" not in below


def test_a_threshold_or_target_the_question_names_is_no_value_of_a_change():
    # "yesterday" asks for a change; 70 is the threshold and 4% the target, no earlier value.
    for question in (
        "how much time was i below 70 yesterday",
        "% of the day under 70 mg/dl yesterday, compared to the 4% target",
    ):
        assert "change" not in computed_facts(question, GLUCOSE), question
    # A value stated beside them still is one.
    assert "time spent low 5%, up from 3%: a rise of 2%" in computed_facts(
        "my time below 70 was 3% yesterday, what changed", GLUCOSE
    )


STEPS = (
    "Record type: StepsRecord. Date: 2025-05-02. Readings: 24 values covering 24 hours. Total "
    "9,204 steps against a goal of 10,000 steps (92% of goal). Most active hour 17:00 with "
    "1,310 steps (14% of the day)."
)


@pytest.mark.parametrize(
    "question", ["what was my busiest hour", "How many steps were in my busiest hour?"]
)
def test_a_busiest_hour_is_asked_for_its_time_or_its_count_and_the_line_gives_both(question):
    # Run 25's line held the day's step verdict for the count (set H).
    assert computed_facts(question, STEPS) == f"{LINE}busiest hour 17:00 with 1,310 steps."


def test_a_stated_value_with_no_rule_is_in_the_line_beside_the_judged_one():
    line = computed_facts("slept 6h 40m but only 39 min of it was deep sleep, bad?")
    assert line == (
        f"{LINE}total sleep 6 h 40 min is under the recommended 7 h minimum; deep sleep 39 min "
        "has no reference range here."
    )


def test_what_one_record_cannot_give_is_all_the_line_says_even_beside_arithmetic():
    # The change from 120 to 200 mg/dL is arithmetic, but a diagnosis is what is asked.
    line = computed_facts(
        "Could I have diabetes? Glucose was 120 mg/dl yesterday, went up to 200 mg/dl today"
    )
    assert line == f"{LINE}a diagnosis is asked for, which wearable data cannot make."


def test_a_year_is_never_a_value_of_a_change():
    line = computed_facts("compare my avg glucose jan 2024 vs jan 2025, how did it change?")
    assert "2,024" not in line and "2024" not in line and "change" not in line
    # A bare number of steps is still one.
    assert "a rise of 955 steps" in computed_facts(
        "steps were 2045 yesterday and 3000 today, change?"
    )
