"""Values read back from text (etl/measured_values.py) against the facts the writer recorded:
every judged fact of every generated record, and the numbers of every generated user message."""

from __future__ import annotations

import pytest

from health_training.etl.generator import generate_batches
from health_training.etl.measured_values import named_facts, stated_values
from health_training.etl.questions import write_question
from health_training.etl.questions.verdicts import JUDGED_FACTS
from health_training.etl.record_lines import record_types, record_values
from health_training.etl.writer import write_example
from health_training_tests.etl.samples import PROCESSED

SHARE_PARTS = {"time_in_bed_min", "deep_min", "rem_min", "peak_hour_steps", "peak_hour_kcal"}
NAMED_VALUES = {
    "min_rmssd_ms",
    "max_rmssd_ms",
    "mean_hr_bpm",
    "gmi_pct",
    "hypoglycemic_events",
    "awake_min",
    "hyperglycemic_events",
    *(f"zone{z}_min" for z in range(1, 6)),
    "steps_pct_of_goal",
    "kcal_pct_of_goal",
}
READ_BACK = set(JUDGED_FACTS) | SHARE_PARTS | NAMED_VALUES


@pytest.fixture(scope="module")
def batches() -> list:
    return list(generate_batches([(2025, 4)], 8, seed=5))


def test_every_judged_fact_share_part_and_named_value_of_every_record_reads_back_exactly(batches):
    read = 0
    for batch in batches:
        example = write_example(batch, processed_at=PROCESSED)
        facts = example["metadata"]["facts"]
        values = record_values(example["input"])
        expected = {f: float(v) for f, v in facts.items() if f in READ_BACK}
        assert values == expected, example["input"]
        assert record_types(example["input"]) == {batch.record_type}
        read += len(values)
    assert read > 300


def test_the_numbers_users_state_are_bound_to_their_measures_never_to_another(batches):
    """The writer's user messages (all families, held-out ones too) state facts in every
    register's words; a value is read as its own fact or not at all."""
    stated = found = 0
    for batch in batches:
        for salt in ("a", "b", "c"):
            example = write_question(batch, kind="user_stated", processed_at=PROCESSED, salt=salt)
            if example is None:
                continue
            facts = example["metadata"]["facts"]
            values = stated_values(example["instruction"])
            assert set(values) <= set(facts), example["instruction"]
            for fact, value in values.items():
                assert value == pytest.approx(float(facts[fact]), abs=0.51), example["instruction"]
            stated += sum(f in JUDGED_FACTS for f in facts)
            found += sum(f in JUDGED_FACTS for f in values)
    assert stated > 100 and found / stated >= 0.95


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "got rhr 65 beats/min and max hr 139 bpm shud i worry",
            {"resting_hr_bpm": 65, "max_hr_bpm": 139},
        ),
        ("Resting pulse 66 yesterday.", {"resting_hr_bpm": 66}),
        (
            "6.5 hrs sleep, 92 pct efficiency, rem 26 pct",
            {"asleep_min": 390, "sleep_efficiency_pct": 92, "rem_pct": 26},
        ),
        ("Burned 210 active calories today.", {"total_active_kcal": 210}),
        (
            "I felt low after 20 km in 50 min.",
            {},
        ),  # no measure: "low" needs a unit, a run is no glucose
        (
            "My HRV was 38. I slept badly. 7 h.",
            {"mean_rmssd_ms": 38},
        ),  # never across a sentence end
        # words of served messages the parser missed (the line judged none of them)
        ("I spent 9% of the day below 70 on my sensor.", {"time_below_range_pct": 9}),
        (
            "Glucose average 149 mg/dL, highest 262 mg/dL, lowest 66 mg/dL.",
            {"mean_glucose_mg_dl": 149, "max_glucose_mg_dl": 262, "min_glucose_mg_dl": 66},
        ),
        (
            "CGM report: mean 128 mg/dl, time in range 83%.",
            {"mean_glucose_mg_dl": 128, "time_in_range_pct": 83},
        ),
        ("highest heart rate 183 bpm, resting 52 bpm", {"max_hr_bpm": 183, "resting_hr_bpm": 52}),
        ("3 readings below 70 mg/dL today", {}),  # a count of lows is no share of the day
        # a bare number of days, a range the user defines, and a word that leads to its number
        ("my average glucose over the last 3 weeks was 151 mg/dl", {"mean_glucose_mg_dl": 151}),
        (
            "Time in range (70-180) was 64% and time below 70 was 3%.",
            {"time_in_range_pct": 64, "time_below_range_pct": 3},
        ),
        ("on the last hill my heart rate peaked at 187 beats per minute", {"max_hr_bpm": 187}),
        (
            # "peaked at" leads to 235, never back to 159; 235 takes the list's mg/dL
            "an average of 159 mg/dL, peaked at 235 and a lowest reading of 112 mg/dL",
            {"mean_glucose_mg_dl": 159, "max_glucose_mg_dl": 235, "min_glucose_mg_dl": 112},
        ),
        ("slept 6h 10m", {"asleep_min": 370}),
        ("ate 2,100 kcal and burned 540 active calories", {"total_active_kcal": 540}),
        # words no writer phrasing has (set G): a latency idiom; an extreme the unit assigns
        (
            "took 38 mins to nod off, slept 6 h",
            {"sleep_latency_min": 38, "asleep_min": 360},
        ),
        (
            "resting 58 bpm, max 171 bpm on my run",
            {"resting_hr_bpm": 58, "max_hr_bpm": 171},
        ),
        ("peak 244 mg/dl after lunch", {"max_glucose_mg_dl": 244}),
        ("I felt at my peak today, 9 hours asleep", {"asleep_min": 540}),
        # time above range and time awake (set G had them unread; measures since run 24), and a
        # plain "average" of the unit's measure
        (
            "mean glucose 188 mg/dl; TIR 48%; TAR 47%; TBR 5%",
            {
                "mean_glucose_mg_dl": 188,
                "time_in_range_pct": 48,
                "time_above_range_pct": 47,
                "time_below_range_pct": 5,
            },
        ),
        (
            "81% in range, 1% low, 18% high",
            {"time_in_range_pct": 81, "time_below_range_pct": 1, "time_above_range_pct": 18},
        ),
        (
            "time above 180 31%, time below 70 5%",
            {"time_above_range_pct": 31, "time_below_range_pct": 5},
        ),
        ("a high of 240 mg/dl", {"max_glucose_mg_dl": 240}),  # "high" with mg/dL stays the peak
        ("6h 12m total sleep, awake 48 min", {"asleep_min": 372, "awake_min": 48}),
        ("max HR 182 bpm, average 61 bpm", {"max_hr_bpm": 182, "mean_hr_bpm": 61}),
        ("hrv 42 ms average overnight", {"mean_rmssd_ms": 42}),
        ("average 150 mg/dl", {"mean_glucose_mg_dl": 150}),
        ("avg 132, awake 3 times", {}),  # bare numbers by words that need a unit: none
        # a unit written once for a list of values (set G); a share or a duration lends none
        (
            "lowest reading 52, highest 287, average 171 mg/dL yesterday",
            {"min_glucose_mg_dl": 52, "max_glucose_mg_dl": 287, "mean_glucose_mg_dl": 171},
        ),
        (
            "sum up my day: hr hit 93, rhr 57 beats per minute",
            {"max_hr_bpm": 93, "resting_hr_bpm": 57},
        ),
        ("avg 132, 81% in range", {"time_in_range_pct": 81}),
        ("lowest 60. Then 150 mg/dl average", {"mean_glucose_mg_dl": 150}),
        # words that name one measure bind a bare number too (set J, development)
        (
            "HR avg 70 bpm, resting 55, hrv 40 ms",
            {"mean_hr_bpm": 70, "resting_hr_bpm": 55, "mean_rmssd_ms": 40},
        ),
        ("I was resting for 20 min", {}),
        ("it took me 15 min to drift off, slept 7 h", {"sleep_latency_min": 15, "asleep_min": 420}),
        ("fell asleep in 25 min", {"sleep_latency_min": 25}),
        ("had 2 lows and 4 highs yesterday", {"hypoglycemic_events": 2, "hyperglycemic_events": 4}),
        ("no lows under 70 mg/dL", {}),  # a threshold is no count
        # an extreme the unit assigns; a name after the next clause's "and" is not this number's
        ("avg hrv 35 ms, lowest 18 ms", {"mean_rmssd_ms": 35, "min_rmssd_ms": 18}),
        (
            "lowest was 61 mg/dl and highest 250 mg/dl",
            {"min_glucose_mg_dl": 61, "max_glucose_mg_dl": 250},
        ),
        ("peak heart-rate 178 bpm", {"max_hr_bpm": 178}),  # a hyphen for the space
        ("total 7.5 h, deep 80 min", {"asleep_min": 450, "deep_min": 80}),
        ("steps 95% of goal", {"steps_pct_of_goal": 95}),
        # a word that needs a unit takes the one of its sentence's measure (set L)
        (
            "my sugar average was 150 and the lower was 90 and the higher was 260",
            {"mean_glucose_mg_dl": 150, "min_glucose_mg_dl": 90, "max_glucose_mg_dl": 260},
        ),
        ("Dexcom says avg 170, TIR 61%", {"mean_glucose_mg_dl": 170, "time_in_range_pct": 61}),
        (
            "hrv 40 avg, lowest 22, highest 61",
            {"mean_rmssd_ms": 40, "min_rmssd_ms": 22, "max_rmssd_ms": 61},
        ),
        ("avg 132 today, felt fine", {}),  # no measure in the sentence: no unit
        # another number's unit word names nothing ("min" is also the minimum glucose)
        ("CGM fine, slept 6 h 05 min (woke at 4)", {"asleep_min": 365}),
        # a share of a goal is the nearest total's; with none, no share
        (
            "9,5k steps, active 400 kcal (80% of goal)",
            {"total_steps": 9500, "total_active_kcal": 400, "kcal_pct_of_goal": 80},
        ),
        (
            "walked 6 000 steps, which is 60% of my goal",
            {"total_steps": 6000, "steps_pct_of_goal": 60},
        ),
        ("that's 80% of goal", {}),
        (
            "my daily steps is 3 400 and the percentage of goal 34%",
            {"total_steps": 3400, "steps_pct_of_goal": 34},
        ),
        # a name right before its number is as near as another number's unit word
        ("Steps 15 023 / goal 10k / 4 210 steps in the morning", {"total_steps": 15023}),
        # a clock-like time after a sleep stage is its hours and minutes
        ("deep 1:35, REM 2:02", {"deep_min": 95, "rem_min": 122}),
        ("Sleep\nTime in bed 8h 15m\nAsleep 7h 21m", {"time_in_bed_min": 495, "asleep_min": 441}),
    ],
)
def test_hand_made_messages(message, expected):
    assert stated_values(message) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("question", "facts"),
    [
        # An extreme apart from its measure is that extreme, not the measure's average.
        ("whats the lowest my heart rate variability dropped", ["min_rmssd_ms"]),
        ("how high did my blood sugar go", ["max_glucose_mg_dl"]),
        ("my bg at its lowest?", ["min_glucose_mg_dl"]),
        ("hrv highest at what time", ["max_rmssd_ms"]),
        ("what was the peak of my pulse", ["max_hr_bpm"]),
        ("highest heart rate variability reading?", ["max_rmssd_ms"]),  # HRV, not heart rate
        # An average between them is the average: no extreme.
        ("how high was my mean glucose", ["mean_glucose_mg_dl"]),
        ("how low did my heart rate go", []),  # no record holds a lowest heart rate
        # The time below range by its threshold, with no name of it.
        ("what share of the day was I under 70 mg/dl", ["time_below_range_pct"]),
        ("how long below 70 in total", ["time_below_range_pct"]),
        # counts and goal shares in everyday words (set M, development)
        ("how many times did my son go low on Sunday?", ["hypoglycemic_events"]),
        ("how often did I spike high yesterday", ["hyperglycemic_events"]),
        (
            "what % of the daily active calorie goal did I hit",
            ["steps_pct_of_goal", "kcal_pct_of_goal"],
        ),
    ],
)
def test_what_a_question_asks_about_when_its_words_are_apart(question, facts):
    assert [f for _, _, found in named_facts(question) for f in found] == facts
