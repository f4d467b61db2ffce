"""What one record cannot answer, read from the question: every writer phrasing of a trend,
another period, a forecast, a cause, a diagnosis or a treatment is marked as its situation, the questions the
record can answer are not, and the computed line then says only that."""

from __future__ import annotations

from itertools import product

import pytest

from health_training.etl.asked_scope import SCOPES, asked_scope, asking_sentences
from health_training.etl.computed import computed_facts
from health_training.etl.questions.measures import RECORD_TOPIC
from health_training.etl.questions.phrasing import fill
from health_training.etl.questions.unanswerable_phrasings import (
    CAUSE,
    CONDITIONS,
    DIAGNOSIS,
    FUTURE,
    MEDICATIONS,
    MISSING,
    MISSING_MEASURE,
    NO_DATA,
    OTHER_PERIOD,
    OTHERS,
    PERIODS,
    SITUATIONS,
    TREATMENT,
    TREND,
)

PART = {situation: part for situation, _, part in SCOPES}
MARKED = {
    TREND: PART["longer_period"],
    OTHER_PERIOD: PART["other_period"],
    FUTURE: PART["future"],
    CAUSE: PART["cause"],
    DIAGNOSIS: PART["diagnosis"],
    TREATMENT: PART["treatment"],
}


def filled(situation: str):
    """Every question of a situation, with every period, other period, topic, condition and
    medicine."""
    for (_, template), (adj, adv, noun), other, topics, condition, when, medicine in product(
        SITUATIONS[situation][1],
        PERIODS,
        OTHERS,
        RECORD_TOPIC.values(),
        set(CONDITIONS.values()),
        ("", " yesterday", " last night"),
        # Only a treatment question names one: the others need not repeat per medicine.
        sorted({m for names in MEDICATIONS.values() for m in names})
        if situation == TREATMENT
        else ("insulin",),
    ):
        for topic in topics:
            yield fill(
                template, topic=topic, period_adj=adj, period_adv=adv, period_noun=noun,
                other=other, condition=condition, when=when, measure=MISSING[0][0],
                what="step count", medication=medicine,
            )  # fmt: skip


@pytest.mark.parametrize("situation", sorted(MARKED))
def test_every_writer_phrasing_of_a_situation_is_marked_as_it(situation):
    for question in filled(situation):
        assert asked_scope(question) == MARKED[situation], question


@pytest.mark.parametrize("situation", [MISSING_MEASURE, NO_DATA])
def test_questions_about_the_records_own_day_are_not_marked(situation):
    for question in filled(situation):
        assert asked_scope(question) is None, question


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What was my average HRV over the past month? I only have today's reading of 38 ms.",
         PART["longer_period"]),
        ("My glucose averaged 138 mg/dL today. What will it be next Friday?", PART["future"]),
        ("why is my resting heart rate so high lately", PART["cause"]),
        ("Could I have diabetes?", PART["diagnosis"]),
        ("how did I sleep two weeks ago?", PART["other_period"]),
        # A change between two stated values asks nothing beyond them.
        ("How does today's 58 bpm compare with last week's 62 bpm?", None),
        ("Why is 58 bpm lower than my usual 62 bpm?", None),
        # One stated value leaves a cause or a diagnosis open, not a period.
        ("my rmssd fell to 17 ms overnight, why??", PART["cause"]),
        ("Glucose 212 mg/dL after lunch. Is this diabetes? Could I have it?", PART["diagnosis"]),
        ("How does today's 58 bpm compare with last week?", None),
        # Conditions named, causes in clinical words, periods in other words (set E's kinds).
        ("is it possible this is afib? pulse jumped overnight", PART["diagnosis"]),
        ("Could that be sleep apnoea?", PART["diagnosis"]),
        ("hrv 25 ms, etiology?", PART["cause"]),
        ("is my sleep any better since the summer?", PART["longer_period"]),
        ("how did my glucose look over these weeks?", PART["longer_period"]),
        ("what did I walk last tuesday?", PART["other_period"]),
        # A treatment decision, whatever numbers come with it.
        ("glucose 240 mg/dl and 35% in range, should I raise my insulin dose?", PART["treatment"]),
        ("can I come off my beta blocker if my rhr is 52 bpm?", PART["treatment"]),
        ("Is my dose of sleep enough?", None),
        # A threshold the user names is no measurement: the forecast is still asked.
        ("Is my A1c going to be below 6.5% by summer?", PART["future"]),
        # Context sentences that do not ask are not read.
        ("I've been tracking since last month. What was my step total yesterday?", None),
        ("What was my highest glucose reading?", None),
        ("How long did I actually sleep?", None),
    ],
)  # fmt: skip
def test_hand_made_questions(question, expected):
    assert asked_scope(question) == expected


def test_the_asking_sentences_are_the_ones_ending_in_a_question_mark():
    assert asking_sentences("Slept badly last week. Is 6 h enough?") == "Is 6 h enough?"
    assert asking_sentences("Tell me my step count.") == "Tell me my step count."


def test_a_period_of_days_is_never_a_value_of_the_measure_named():
    steps = "Record type: StepsRecord. Total 1,852 steps against a goal of 10,000 steps."
    for question in (
        "How has my steps changed over the last 30 days?",
        "whats my 7-day step count trend, has it changed",
    ):
        assert computed_facts(question, steps) == (
            f"Computed from your numbers: {PART['longer_period']}."
        ), question


def test_the_line_says_only_what_is_beyond_the_data():
    record = (
        "Record type: HeartRateVariabilityRmssdRecord. Date: 2025-03-01. Readings: 22 values. "
        "Mean RMSSD 76 ms (lowest 56 ms at 09:22, highest 100 ms at 02:08)."
    )
    line = computed_facts("What's my 30-day HRV trend?", record)
    assert line == f"Computed from your numbers: {PART['longer_period']}."
    # The same record asked about its day gets the verdict, no marker.
    assert "76 ms" in computed_facts("How was my HRV?", record)
    # A measure no record holds, asked for beside a stated one: only what is missing.
    assert computed_facts("Based on my 8,000 steps today, what is my blood pressure?") == (
        "Computed from your numbers: no blood pressure data given."
    )
