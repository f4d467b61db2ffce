"""Unanswerable questions beside the user's own numbers (no record): the message states values of
the record, the computed line is the situation's marker alone, and the answer declines, names
the measures given and states no number."""

from __future__ import annotations

import re
from random import Random

import pytest

from health_training.data.domains import RECORD_TYPES
from health_training.etl.computed import PREFIX, computed_facts
from health_training.etl.questions import write_question
from health_training.etl.questions.example import read_record
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.unanswerable import CANNOT_ANSWER
from health_training.etl.questions.unanswerable_phrasings import (
    MISSING_MEASURE,
    OTHER_PERIOD,
    TREND,
)
from health_training.etl.questions.unanswerable_stated import (
    ANSWERS,
    declines_alone,
    stated_draft,
)
from health_training_tests.etl.samples import PROCESSED, READINGS, batch

DIGIT = re.compile(r"\d")
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
SLOTS = {
    "topic": "pulse",
    "holds": "a day of heart-rate readings",
    "day": "day",
    "measure": "blood pressure",
    "measure_answer": "blood pressure",
    "period_adj": "30-day",
    "period_adv": "over the last 30 days",
    "period_noun": "the last 30 days",
    "other": "last month",
    "condition": "heart condition",
    "medication": "beta blocker",
    "what": "resting heart rate",
    "when": "",
}


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_some_unanswerable_questions_state_the_users_numbers_and_are_declined(record_type):
    b = batch(record_type, READINGS[record_type])
    stated = 0
    for salt in range(150):
        ex = write_question(b, kind="unanswerable", processed_at=PROCESSED, salt=str(salt))
        if ex["input"].startswith(PREFIX) and DIGIT.search(ex["instruction"]):
            stated += 1
            # No record: the line is what the server computes from the message, and it declines.
            assert ex["input"] == computed_facts(ex["instruction"], "")
            assert CANNOT_ANSWER.search(ex["output"]), ex["output"]
            # No number of its own ("SpO2" names one the question names too).
            assert set(NUMBER.findall(ex["output"])) <= set(NUMBER.findall(ex["instruction"]))
            assert ex["metadata"]["cannot_answer"] and ex["metadata"]["asked"] == []
    assert stated >= 10, stated  # 150 drafts, 0.4 of 6 of 9 situations ≈ 40


def test_a_missing_measure_beside_two_stated_values_names_both_and_declines():
    record = read_record(batch("HeartRateRecord", READINGS["HeartRateRecord"]))
    template = "What was my {measure}{when}?"
    for seed in range(40):
        draft = stated_draft(
            record, MISSING_MEASURE, "unanswerable.plain", template, SLOTS, Random(seed)
        )
        assert draft is not None
        given = [f for f in MEASURE if MEASURE[f].record_type == "HeartRateRecord"]
        named = [f for f in given if MEASURE[f].subject in draft.output]
        stated_numbers = re.findall(r"\d+", draft.instruction)
        assert 1 <= len(named) <= 3 and len(stated_numbers) >= len(named), draft
        assert draft.instruction.endswith("What was my blood pressure?")
        assert "blood pressure" in draft.output and CANNOT_ANSWER.search(draft.output)
        assert draft.input == "" and draft.facts == {} and draft.cannot_answer


def test_a_question_the_line_answers_is_not_declined():
    # Texting with no "?": every sentence asks, so the stated values are judged (the server's
    # rule) and a declining answer would contradict the line; no stated draft is written.
    record = read_record(batch("StepsRecord", READINGS["StepsRecord"]))
    slots = {**SLOTS, "topic": "steps"}
    drafts = [
        stated_draft(
            record,
            TREND,
            "unanswerable.texting",
            "show me my {topic} trend {period_adv}",
            slots,
            Random(s),
        )
        for s in range(20)
    ]
    assert drafts == [None] * 20


def test_a_template_about_a_record_gets_no_stated_numbers():
    record = read_record(batch("HeartRateRecord", READINGS["HeartRateRecord"]))
    template = "Tell me my {measure} from this record."
    assert (
        stated_draft(record, MISSING_MEASURE, "unanswerable.request", template, SLOTS, Random(1))
        is None
    )


@pytest.mark.parametrize(
    ("line", "situation", "declines"),
    [
        (f"{PREFIX} no blood pressure data given.", MISSING_MEASURE, True),
        (f"{PREFIX} no steps data given; no calorie burn data given.", MISSING_MEASURE, True),
        (f"{PREFIX} more days are asked about than the one given.", TREND, True),
        (f"{PREFIX} another period is asked about than the one given.", OTHER_PERIOD, True),
        (f"{PREFIX} another period is asked about than the one given.", TREND, False),
        (
            f"{PREFIX} resting heart rate 55 bpm is within the 40-85 bpm reference range.",
            MISSING_MEASURE,
            False,
        ),
        ("", MISSING_MEASURE, False),
    ],
)
def test_declines_alone(line, situation, declines):
    assert declines_alone(line, situation) is declines


def test_every_stated_answer_declines_in_the_evaluations_words():
    for situation, answers in ANSWERS.items():
        for text in answers:
            filled = text.format(given="your resting heart rate", **SLOTS)
            assert CANNOT_ANSWER.search(filled), (situation, filled)
            assert not DIGIT.search(filled.replace("30-day", "").replace("30 days", ""))
