"""User-stated messages with several values (up to four of one record type, or one day's values
of two to four types) and treatment questions, on the hand-built day of `samples`: every stated
value restated and judged, none dropped for length, and a dose declined by naming who decides."""

from __future__ import annotations

from collections import Counter
from random import Random

import pytest

from health_training.data.domains import RECORD_TYPES
from health_training.etl.asked_scope import SCOPES, asked_scope
from health_training.etl.computed_verdicts import UNJUDGED
from health_training.etl.questions import (
    FAMILIES,
    HELD_OUT_FAMILIES,
    write_day_stated,
    write_question,
)
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.quantities import say
from health_training.etl.questions.unanswerable import CANNOT_ANSWER
from health_training.etl.questions.unanswerable_phrasings import MEDICATIONS
from health_training.etl.questions.user_stated import MAX_ANSWER_CHARS, answer
from health_training.etl.questions.user_stated_day import FAMILIES as DAY_FAMILIES
from health_training.etl.questions.verdicts import JUDGED_FACTS, judge
from health_training_tests.etl.samples import PROCESSED, READINGS, batch

DAY_TYPES = ("BloodGlucoseRecord", "HeartRateRecord", "SleepSessionRecord", "StepsRecord")


def test_four_values_are_each_restated_and_judged():
    # Set C's overview message, by hand: 172 > 154; 61 < 70; 2 < 4; 31 <= 36.
    text = answer(
        {
            "mean_glucose_mg_dl": 172,
            "time_in_range_pct": 61,
            "time_below_range_pct": 2,
            "glucose_cv_pct": 31,
        },
        Random(3),
    )
    for value, verdict in (
        ("172 mg/dL", "above 154 mg/dL"),
        ("61%", "below the 70% target"),
        ("2%", "within the target of under 4%"),
        ("31%", "at or below 36%"),
    ):
        assert value in text and verdict in text, (value, text)


@pytest.mark.parametrize(
    ("stated", "verdict"),
    [
        (
            {
                "asleep_min": 294,
                "sleep_efficiency_pct": 71,
                "sleep_latency_min": 55,
                "deep_pct": 8,
                "rem_pct": 12,
            },
            "longer than the 30 min reference",  # 55 > 30
        ),
        (
            {
                "mean_glucose_mg_dl": 212,
                "time_in_range_pct": 38,
                "time_below_range_pct": 9,
                "time_above_range_pct": 53,
                "glucose_cv_pct": 44,
                "max_glucose_mg_dl": 341,
                "gmi_pct": 8.4,
            },
            "above the 25% target for time above 180 mg/dL",  # 53 > 25
        ),
    ],
)
def test_five_to_seven_long_values_all_fit_the_answer(stated, verdict):
    for seed in range(20):
        text = answer(stated, Random(seed))
        assert len(text) <= MAX_ANSWER_CHARS
        assert all(say(f, v) in text for f, v in stated.items()), text
        assert verdict in text


def test_a_glucose_message_states_up_to_six_values_and_the_answer_keeps_them():
    b = batch("BloodGlucoseRecord", READINGS["BloodGlucoseRecord"])
    counts = Counter()
    for salt in range(90):
        ex = write_question(b, kind="user_stated", processed_at=PROCESSED, salt=str(salt))
        asked = ex["metadata"]["asked"]
        counts[len(asked)] += 1
        assert len(asked) == len(ex["metadata"]["facts"])  # nothing stated was dropped
        for a in asked:
            assert say(a["fact"], a["value"]) in ex["output"]
    assert set(counts) == {1, 2, 3, 4, 5, 6}, counts


def _day() -> list:
    return [batch(t, READINGS[t]) for t in DAY_TYPES]


def test_a_day_message_states_values_of_several_record_types_with_no_record():
    types_per_message = Counter()
    families = set()
    for salt in range(40):
        ex = write_day_stated(_day(), processed_at=PROCESSED, salt=str(salt))
        meta = ex["metadata"]
        families.add(meta["template_family"])
        assert meta["question_kind"] == "user_stated" and meta["record_type"] == "DaySummary"
        assert meta["source_key"].startswith("raw/wearables/user_0007/")
        # No record: only what the message's numbers imply.
        assert ex["input"].startswith("Computed from your numbers: ")
        types = {MEASURE[a["fact"]].record_type for a in meta["asked"]}
        types_per_message[len(types)] += 1
        for a in meta["asked"]:
            assert say(a["fact"], a["value"]) in ex["output"], ex["output"]
            if a["fact"] in JUDGED_FACTS:  # GMI, the average heart rate: restated, unjudged
                assert judge(a["fact"], a["value"]).clause in ex["output"], ex["output"]
        # The hand-built day's values: 12 h of 800 and 5 of 300 steps; 7 h 30 min asleep.
        facts = meta["facts"]
        assert facts.get("total_steps", 11_100) == 11_100
        assert facts.get("asleep_min", 450) == 450
        assert ex == write_day_stated(_day(), processed_at=PROCESSED, salt=str(salt))
    assert min(types_per_message) == 2 and max(types_per_message) >= 3, types_per_message
    assert families == set(DAY_FAMILIES)
    assert set(DAY_FAMILIES) <= set(FAMILIES)
    assert set(DAY_FAMILIES) & HELD_OUT_FAMILIES and set(DAY_FAMILIES) - HELD_OUT_FAMILIES


def test_a_value_with_no_reference_is_restated_and_never_judged():
    # 93 bpm is over the 85 bpm resting edge: a mean heart rate is not judged by it
    text = answer({"resting_hr_bpm": 83, "mean_hr_bpm": 93, "max_hr_bpm": 113}, Random(2))
    first, second, third = text.split(". ")[:3]
    assert "83 bpm" in first and "within the 40-85 bpm reference range" in first
    assert "93 bpm" in second and "average heart rate" in second
    assert UNJUDGED in second and "40-85" not in second and "190" not in second
    assert "113 bpm" in third and "190 bpm reference maximum" in third
    for salt in range(60):  # every message asks about at least one judged value
        b = batch("HeartRateRecord", READINGS["HeartRateRecord"])
        ex = write_question(b, kind="user_stated", processed_at=PROCESSED, salt=str(salt))
        assert {a["fact"] for a in ex["metadata"]["asked"]} & set(JUDGED_FACTS)


def test_a_day_of_one_record_type_states_no_day():
    one = [batch("StepsRecord", READINGS["StepsRecord"])]
    assert write_day_stated(one, processed_at=PROCESSED) is None
    assert write_day_stated([], processed_at=PROCESSED) is None


TREATMENT = next(part for situation, _, part in SCOPES if situation == "treatment")


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_a_treatment_question_is_marked_and_declined_naming_its_medicine(record_type):
    b = batch(record_type, READINGS[record_type])
    seen = 0
    for salt in range(200):
        ex = write_question(b, kind="unanswerable", processed_at=PROCESSED, salt=str(salt))
        if asked_scope(ex["instruction"]) != TREATMENT:
            continue
        seen += 1
        assert ex["input"].endswith(f"Computed from your numbers: {TREATMENT}.")
        assert CANNOT_ANSWER.search(ex["output"]), ex["output"]
        medicine = next(m for m in MEDICATIONS[record_type] if m in ex["instruction"])
        assert medicine in ex["output"], ex["output"]
    assert seen >= 5
