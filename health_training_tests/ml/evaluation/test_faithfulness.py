"""Number faithfulness and fact statements on hand-made cases: correct, derivable, invented and
misattributed numbers; and the ETL writer's own narratives, which must score perfectly."""

from __future__ import annotations

import orjson
import pytest

from health_training.etl.generator import generate_corpus
from health_training.ml.evaluation.faithfulness import factual_consistency, scan_quantities
from health_training.ml.evaluation.statements import Statement, extract_statements, score_facts

HR_INPUT = (
    "Record type: HeartRateRecord. Date: 2025-01-18. Resting heart rate 90 bpm (5th percentile), "
    "mean 102 bpm, maximum 120 bpm at 10:40. Minutes per zone: zone 1 835 min, zone 2 120 min."
)
HR_FACTS = {
    "resting_hr_bpm": 90,
    "mean_hr_bpm": 102,
    "max_hr_bpm": 120,
    "max_hr_time": 640,
    "zone1_min": 835,
    "zone2_min": 120,
}
SLEEP_INPUT = "Sleep session 21:58-04:55: 417 min in bed, 384 min asleep. Efficiency 92%."
SLEEP_FACTS = {"time_in_bed_min": 417, "asleep_min": 384, "sleep_efficiency_pct": 92}


@pytest.mark.parametrize(
    ("answer", "hallucinated"),
    [
        ("Resting heart rate was 90 bpm and peaked at 120 bpm at 10:40.", 0),  # correct
        ("The user slept 6 h 24 min.", 0),  # derivable: 384 min = 6 h 24 min
        ("The user slept 6.4 hours.", 0),  # derivable: 384 min = 6.4 h
        ("Asleep for 92% of the time in bed.", 0),  # stated
        ("Asleep for 92.1% of the time in bed.", 0),  # derivable: 384 / 417 = 92.09 %
        ("Asleep for 95% of the night.", 1),  # invented share
        ("The user slept 7 h 10 min.", 1),  # invented duration
        ("Heart rate peaked at 190 bpm.", 1),  # invented
    ],
)
def test_number_rule_accepts_derivations_and_catches_inventions(answer, hallucinated):
    source = HR_INPUT if "heart" in answer.lower() else SLEEP_INPUT
    assert factual_consistency(answer, source).hallucinated == hallucinated


def test_presence_is_not_correctness_misattribution_is_caught():
    answer = "Resting heart rate was 90 bpm. The user's heart rate peaked at 90 bpm."
    # Every number is in the input: the number rule sees nothing wrong...
    assert factual_consistency(answer, HR_INPUT).hallucinated == 0
    # ...but the peak statement names the wrong statistic.
    score = score_facts(answer, HR_FACTS, "Heart rate peaked at 120 bpm at 10:40.")
    assert (score.statements, score.correct) == (2, 1)
    assert score.wrong == (Statement("max_hr_bpm", 90.0, 0, answer.rindex("90 bpm")),)
    assert score.accuracy == 0.5
    assert score.recall == 0.0  # the reference's peak (and its time) were not stated correctly


def test_statements_read_ranges_durations_clock_times_and_direction():
    text = (
        "Heart rate variability averaged 27 ms RMSSD, ranging from 9 to 57 ms across the day. "
        "HRV fell by about 2.0 ms per hour. The user slept 6 h 24 min of 417 min in bed "
        "(21:58 to 04:55). The day's total was 6,412 steps, 64% of the 10,000 steps goal."
    )
    got = {(s.fact, s.value) for s in extract_statements(text)}
    assert got == {
        ("mean_rmssd_ms", 27.0),
        ("min_rmssd_ms", 9.0),
        ("max_rmssd_ms", 57.0),
        ("rmssd_trend_ms_per_h", -2.0),
        ("asleep_min", 384.0),
        ("time_in_bed_min", 417.0),
        ("bedtime", 21 * 60 + 58.0),
        ("wake_time", 4 * 60 + 55.0),
        ("total_steps", 6412.0),
        ("steps_pct_of_goal", 64.0),
        ("step_goal", 10000.0),
    }


def test_hours_and_minutes_written_h_and_m_are_one_duration():
    """5 h 50 min = 350 min by hand; a lone "50 m" may be metres and stays a bare number."""
    from health_training.ml.evaluation.faithfulness import scan_quantities

    got = [(q.value, q.unit) for _, _, q in scan_quantities("5h 50m of sleep, then a 50 m swim")]
    assert got == [(350.0, "min"), (50.0, None)]


def test_a_step_count_with_a_thousands_point_or_k_is_whole():
    # Steps and kcal are whole: "12.400 steps" is 12,400 and "2.350 kcal" 2,350 (a thousands
    # point); before other units a point stays a decimal.
    from health_training.ml.evaluation.faithfulness import scan_quantities

    # "12k steps" counts thousands too; a "10k" run stays a bare 10.
    text = (
        "12.400 steps, 1.250 steps, 12.4 steps, 2.350 kcal, 12,400 steps, 8.5k steps, a 10k, 1.5 h"
    )
    got = [(q.value, q.unit, q.decimals) for _, _, q in scan_quantities(text)]
    assert got == [
        (12_400, "steps", 0),
        (1_250, "steps", 0),
        (12.4, "steps", 1),
        (2_350, "kcal", 0),
        (12_400, "steps", 0),
        (8_500, "steps", 0),
        (10, None, 0),
        (1.5, "h", 1),
    ]


def test_thousands_grouped_by_a_space_beside_a_count_are_one_number():
    from health_training.ml.evaluation.faithfulness import scan_quantities

    text = "steps 6 200, 12\u00a0500 steps, burned 2 480 kcal; readings 95 110 140 mg/dL, 7 300"
    got = [(q.value, q.unit) for _, _, q in scan_quantities(text)]
    assert got == [
        (6_200, None),
        (12_500, "steps"),
        (2_480, "kcal"),
        # a list of readings, and a number beside no count's unit, stay apart
        (95, None),
        (110, None),
        (140, "mg/dL"),
        (7, None),
        (300, None),
    ]


def test_thousands_written_with_a_k_after_steps_and_durations_ending_a_clause():
    from health_training.ml.evaluation.faithfulness import scan_quantities

    text = "steps: 10,2k, steps=12.4k, 9,8k steps, a 10k, total 7 h 50. rem 1h 10, 7 h 5 times"
    got = [(q.value, q.unit) for _, _, q in scan_quantities(text)]
    assert got == [
        (10_200, None),
        (12_400, None),
        (9_800, "steps"),
        (10, None),  # a 10k run: the k stays to be read as a distance
        (470, "min"),
        (70, "min"),
        (7, "h"),
        (5, None),
    ]


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("slept 7 1/2 hours", 7.5, "h"),
        ("slept 7\u00bd hrs", 7.5, "h"),
        ("six hours? no, 6 and a half hours", 6.5, "h"),
        ("took me 31 min 15 sec", 31.25, "min"),
        ("42 minutes and 30 seconds", 42.5, "min"),
        ("180 kcals", 180.0, "kcal"),
        ("515 cals", 515.0, "kcal"),
        ("my steps are 4 500 today", 4500.0, None),
    ],
)
def test_half_hours_seconds_and_plural_units_are_one_quantity(text, value, unit):
    assert [(q.value, q.unit) for _, _, q in scan_quantities(text)] == [(value, unit)]


def test_precision_of_a_statement_is_the_written_one():
    facts = {"gmi_pct": 8.4, "rmssd_trend_ms_per_h": -0.6}
    assert score_facts("The GMI of 8.4% estimates ...", facts).correct == 1
    assert score_facts("The GMI of 8% estimates ...", facts).correct == 1  # rounded honestly
    assert score_facts("The GMI of 8.6% estimates ...", facts).correct == 0
    assert score_facts("HRV rose by 0.6 ms per hour.", facts).correct == 0  # wrong direction


def test_a_fact_the_record_does_not_have_is_wrong():
    score = score_facts("Deep sleep made up 20% of sleep.", HR_FACTS)
    assert (score.statements, score.correct) == (1, 0)


def test_writer_narratives_are_perfectly_faithful():
    corpus = generate_corpus([(2025, 1)], 3, seed=9, phi_note_share=0.0, malformed_share=0.0)
    checked = 0
    for data in corpus.files.values():
        for line in data.splitlines():
            doc = orjson.loads(line)
            if doc["metadata"].get("example_kind") == "question":
                continue  # answers to questions follow the grounding rule (test_questions*.py)
            facts, output = doc["metadata"]["facts"], doc["output"]
            score = score_facts(output, facts, output)
            assert score.wrong == () and score.recall in (1.0, None), output
            source = f"{doc['instruction']}\n{doc['input']}"
            assert factual_consistency(output, source).hallucinated == 0, output
            checked += score.statements
    assert checked > 500


@pytest.mark.parametrize(
    ("answer", "facts", "statements", "correct"),
    [
        # Paraphrases the templates never use are still attributed by their cue words.
        ("Time in the 70-180 mg/dL range was 23%.", {"time_in_range_pct": 23}, 1, 1),
        ("Below 70 mg/dL resulted in 77% of readings.", {"time_below_range_pct": 0}, 1, 0),
        ("Variability was 23%, a stable value.", {"glucose_cv_pct": 23}, 1, 1),
        # Reference points are not statements: thresholds, targets, "or more".
        ("This is below the 70% target and 15 min or more below 70 mg/dL.", {}, 0, 0),
        (
            "Resting heart rate was 65 bpm, within the 40-85 bpm reference range.",
            {"resting_hr_bpm": 65},
            1,
            1,
        ),
        # A superlative before a measure's bare name says which reading (demo run 9 scored
        # "Your lowest HRV reading was 39 ms" as a wrong average).
        ("Your lowest HRV reading was 39 ms.", {"min_rmssd_ms": 39, "mean_rmssd_ms": 51}, 1, 1),
        ("Your best HRV reading was 56 ms.", {"max_rmssd_ms": 56, "mean_rmssd_ms": 39}, 1, 1),
        ("Your highest heart rate variability was 56 ms.", {"max_rmssd_ms": 56}, 1, 1),
        ("Your HRV was 40 ms, a low HRV of 40 ms.", {"mean_rmssd_ms": 40}, 2, 2),
        # Each number of a list gets its own cue.
        (
            "0% below 70 mg/dL and 23% above 180 mg/dL.",
            {"time_below_range_pct": 0, "time_above_range_pct": 23},
            2,
            2,
        ),
    ],
)
def test_paraphrases_and_reference_points(answer, facts, statements, correct):
    score = score_facts(answer, facts)
    assert (score.statements, score.correct) == (statements, correct), extract_statements(answer)
