"""Comparisons an answer states, checked against its own numbers (ml/evaluation/stated_comparisons.py): the
contradictions the demo model wrote are caught, the writer's own phrasings never are."""

from __future__ import annotations

import pytest

from health_training.ml.evaluation.stated_comparisons import contradicted_comparisons

CONTRADICTED = [
    ("Your step total was 6,800 steps, at or above the 10,000 steps daily target.", "6,800 steps"),
    ("Your resting heart rate of 36 bpm is within the 40-85 bpm reference range.", "36 bpm"),
    ("Your average heart rate was 70 beats per minute, under 70 beats per minute.", "70 beats"),
    ("Glucose averaged 138 mg/dL, at or above the 180 mg/dL target.", "138 mg/dL"),
    ("You slept 5 h 5 min, within the recommended 7-9 h.", "5 h 5 min"),
    ("You slept 11 h 2 min, past the recommended 7-9 h but not over 10 h.", "11 h 2 min"),
    ("Your step total of 17,855 steps is under 5,000 steps.", "17,855 steps"),
    ("Your deep sleep was 13%, up from 33%.", "13%"),
    ("Total sleep was 7 h 22 min, down from 400 min.", "7 h 22 min"),  # hours and minutes
]
HOLDS = [
    "Your resting heart rate of 43 bpm is within the 40-85 bpm reference range.",
    "Your step total of 7,656 steps is above 7,500 steps but short of the 10,000 steps target.",
    "Your time in range was 19%, far below the 70% target (under 50%).",
    "You slept 9 h 14 min, past the recommended 7-9 h but not over 10 h.",
    "Your time spent low was 4%, within the target of under 4%.",
    "Active calories: 648 kcal, up from 590 kcal, a rise of 58 kcal or 10%.",
    "Total sleep was 5 h 5 min, under the recommended 7 h minimum.",
    # Not judged: another unit right before the comparison, or no direction in the words.
    "8% of readings were below 70 mg/dL and 4 episodes above 250 mg/dL lasted 15 min.",
    "Your active calorie total of 145 kcal is under 40% of the 500 kcal daily target.",
    "Your sleep efficiency of 77% is within the 85% reference.",
    "You slept 5 h 52 min. Duration was below the recommended 7-9 h.",  # no subject in it
    "Your HRV trend over the last 30 days is not in this record.",
]


@pytest.mark.parametrize(("answer", "subject"), CONTRADICTED)
def test_a_contradicted_comparison_is_reported_as_written(answer, subject):
    (found,) = contradicted_comparisons(answer)
    assert found.startswith(subject) and found in answer


@pytest.mark.parametrize("answer", HOLDS)
def test_comparisons_that_hold_or_cannot_be_read_are_left_alone(answer):
    assert contradicted_comparisons(answer) == ()
