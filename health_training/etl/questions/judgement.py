"""Judgement questions: is a value of the record fine or not ("Is my resting hr of 88 ok?")?

The answer opens with the yes or no the question's polarity calls for, states the value with its
subject and the reference it is judged by (`verdicts.judge`, `clinical.py`'s exact comparisons),
and sometimes closes with a sentence fitting the verdict. Normal values get answers that say so:
the record decides, not the template. The input is the record's input.

Each phrasing is (template, polarity): "bad" asks whether it is bad ("Should I be worried about
my {what}?"), "ok" whether it is fine ("Is my {what} normal?"), "open" how it is ("How does my
{what} look?"). `{val}` is the record's value as a user would type it.
"""

from __future__ import annotations

from random import Random

from health_training.etl.questions.example import Asked, Draft, Record
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.phrasing import cap, closer, fill, judged_sentence, lead, when
from health_training.etl.questions.quantities import say, unit_of, user_says
from health_training.etl.questions.verdicts import JUDGED_FACTS, judge

FAMILIES: dict[str, tuple[tuple[str, str], ...]] = {
    "judgement.casual_worried": (
        ("Should I be worried about my {what}?", "bad"),
        ("Is my {what} bad?", "bad"),
        ("Is a {what} of {val} something to worry about?", "bad"),
        ("My {what} was {val}{when}. Is that a problem?", "bad"),
        ("Is {val} a worrying {what}?", "bad"),
        ("Honestly, is my {what} ok?", "ok"),
        ("I'm a bit anxious about my {what}{when}. Is it concerning?", "bad"),
    ),
    "judgement.clinical_formal": (
        ("Is the recorded {what} within the reference range?", "ok"),
        ("Does a {what} of {val} fall within normal limits?", "ok"),
        ("Please assess whether the {what} is clinically acceptable.", "open"),
        ("Is the {what} documented here abnormal?", "bad"),
        ("Evaluate the {what} against the standard reference.", "open"),
        ("Is a {what} of {val} within guideline targets?", "ok"),
    ),
    "judgement.typo_texting": (
        ("is my {what} ok", "ok"),
        ("{what} of {val} ok??", "ok"),
        ("is {val} {what} bad lol", "bad"),
        ("hw bad is my {what}", "open"),
        ("is my {what} normal or nah", "ok"),
        ("{what} {val}{when} good or bad?", "open"),
        ("shud i worry abt my {what}", "bad"),
    ),
    "judgement.normal_check": (
        ("Is my {what} normal?", "ok"),
        ("Is {val} a normal {what}?", "ok"),
        ("Is my {what} in the healthy range?", "ok"),
        ("Is {val} fine for {what}?", "ok"),
        ("Would you call my {what}{when} healthy?", "ok"),
        ("Is my {what} where it should be?", "ok"),
    ),
    "judgement.coach_context": (
        ("I've been training hard lately. Is my {what} ok?", "ok"),
        ("My partner thinks my {what} is off. Is it?", "bad"),
        ("I'm trying to get healthier. How does my {what} look?", "open"),
        ("Is my {what} good enough, or should I change something?", "open"),
        ("I felt tired{when}. Is my {what} a concern?", "bad"),
        ("Compared to the guidelines, how's my {what}?", "open"),
    ),
    "judgement.context_note": (
        ("My GP mentioned it last time. Is my {what} ok now?", "ok"),
        ("I've been sleeping badly this week. Is my {what} a worry?", "bad"),
        ("I'm starting a new medication. How does my {what} look?", "open"),
        ("My sister has diabetes, so I'm careful. Is my {what} normal?", "ok"),
        ("Long day at work{when}. Is my {what} anything to worry about?", "bad"),
        ("I'm new to tracking this. What do you think of my {what}?", "open"),
    ),
    "judgement.value_first": (
        ("{val} {what}: good or bad?", "open"),
        ("Got {val} for {what}{when}. Ok?", "ok"),
        ("Is {val} too much or too little for {what}?", "open"),
        ("{Val} - is that a healthy {what}?", "ok"),
        ("What do you make of a {what} of {val}?", "open"),
        ("Rate my {what} of {val}: fine or not?", "open"),
    ),
}
_REGISTER = {
    "judgement.casual_worried": "casual",
    "judgement.clinical_formal": "clinical",
    "judgement.typo_texting": "texting",
    "judgement.normal_check": "casual",
    "judgement.coach_context": "casual",
    "judgement.context_note": "casual",
    "judgement.value_first": "casual",
}


def answer(fact: str, value: float, polarity: str, rng: Random) -> str:
    """Yes/no (or the verdict), the value against its reference, sometimes a closer."""
    verdict = judge(fact, value)
    body = judged_sentence(MEASURE[fact].subject, say(fact, value), verdict, rng)
    parts = [lead(verdict, polarity, rng), body, closer(verdict, rng)]
    return " ".join(p for p in parts if p)


def draft(record: Record, rng: Random) -> Draft | None:
    record_type = record.batch.record_type
    options = [
        f for f in JUDGED_FACTS if f in record.facts and MEASURE[f].record_type == record_type
    ]
    if not options:
        return None
    # Most values of a day are normal: ask about an abnormal one half the time there is one, so
    # that the model sees both answers often.
    flagged = [f for f in options if judge(f, record.facts[f]).flagged]
    fact = rng.choice(flagged if flagged and rng.random() < 0.5 else options)
    value = record.facts[fact]
    family = rng.choice(sorted(FAMILIES))
    template, polarity = rng.choice(FAMILIES[family])
    what = rng.choice(MEASURE[fact].names(_REGISTER[family]))
    val, _ = user_says(fact, value, rng, exact=True)
    question = fill(template, what=what, val=val, Val=cap(val), when=when(record_type, rng))
    asked = Asked(fact, value, unit_of(fact))
    output = answer(fact, value, polarity, rng)
    return Draft(family, question, record.input, output, dict(record.facts), (asked,))
