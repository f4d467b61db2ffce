"""Unanswerable questions asked beside the user's own numbers, with no record: "Resting HR 55
today, 8,200 steps. What was my blood pressure?" The answer says what is missing and names the
measures the user gave, with no number.

Until run 28 every unanswerable example came with a record or with no data at all, never with
numbers typed in the message, which is how the server receives most questions. Served, such a
question was answered with the message's own numbers as the missing measure ("Your VO2 max was
171", "Your average glucose was 450 steps, ...", development set H) though the computed line
said "no VO2 max data given". Each draft keeps only a message whose computed line is that
situation's marker alone (the server's own rule, `etl/computed.py`), so the answer never
declines a question the line answers.
"""

from __future__ import annotations

from random import Random

from health_training.etl.asked_scope import SCOPES
from health_training.etl.questions.example import Draft, Record
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.phrasing import cap, fill, join_all, when
from health_training.etl.questions.unanswerable_phrasings import (
    CAUSE,
    DIAGNOSIS,
    FUTURE,
    MISSING_MEASURE,
    OTHER_PERIOD,
    TEXTING,
    TREATMENT,
    TREND,
)
from health_training.etl.questions.user_stated import stated_options, stated_values

# Of the unanswerable drafts of a situation below, the share asked beside stated numbers.
STATED_SHARE = 0.4
MAX_STATED = 3
# situation -> answers; `{given}` names the measures the message gave ("your resting heart rate
# and step total"), in words that agree with one measure or several.
ANSWERS: dict[str, tuple[str, ...]] = {
    TREND: (
        "I can't work that out from one {day}: you gave me {given}, from a single {day}. I'd "
        "need your {topic} from {period_noun} as well.",
        "There's not enough data for that. You shared {given} for one {day} only, and "
        "{period_noun} needs the other days too.",
    ),
    MISSING_MEASURE: (
        "You gave me {given}, not your {measure_answer}, so I can't tell what it was.",
        "I can't say: there's no data on {measure_answer} in your message, only {given}.",
        "Your message doesn't include {measure_answer}: it gives {given} only.",
    ),
    FUTURE: (
        "I can't predict that: you gave me {given} for one past {day}, and what comes next "
        "depends on things they don't show, like food, activity, sleep and stress.",
        "There's not enough information to forecast your {topic}: one {day}'s numbers "
        "({given}) can't show where it is heading.",
    ),
    CAUSE: (
        "I can't tell the cause from these numbers: you gave me {given}, with nothing about "
        "food, caffeine, stress or exercise.",
        "Your message gives {given}, not meals, medication, stress or what you were doing, so "
        "it doesn't say why.",
    ),
    OTHER_PERIOD: (
        "There's no data for {other} here: you gave me {given} for one {day} only.",
        "I'd need your readings from {other} to answer that; you shared {given} for one {day} "
        "only.",
    ),
    DIAGNOSIS: (
        "I can't answer that: {condition} is diagnosed by a clinician with proper tests, and "
        "one {day}'s numbers ({given}) don't show it either way.",
        "Wearable numbers can't determine that. A diagnosis needs a clinical assessment; if "
        "you're concerned, see your doctor.",
    ),
    TREATMENT: (
        "I can't tell you that: a change to your {medication} is a decision for your doctor or "
        "pharmacist, who know your history. One {day}'s numbers ({given}) can't decide a dose.",
        "Wearable data can't determine that. Please ask your doctor before changing, skipping "
        "or stopping your {medication}.",
    ),
}
# The writer's situations by the server's scope names (`asked_scope.SCOPES`).
_SCOPE_PARTS = {
    {"longer_period": TREND}.get(situation, situation): part for situation, _, part in SCOPES
}


def declines_alone(line: str, situation: str) -> bool:
    """Is the computed `line` the situation's marker and nothing else?"""
    from health_training.etl.computed import line_parts

    parts = line_parts(line)
    if situation == MISSING_MEASURE:
        return bool(parts) and all(p.startswith("no ") and p.endswith(" data given") for p in parts)
    return parts == [_SCOPE_PARTS.get(situation)]


def stated_draft(
    record: Record,
    situation: str,
    family: str,
    template: str,
    slots: dict[str, str],
    rng: Random,
) -> Draft | None:
    """The question after a sentence of the record's values as a user types them, with no
    input; None when the record has no value a user states or the computed line would not
    decline (the question still reads as one about the numbers)."""
    from health_training.etl.computed import computed_facts

    options = stated_options(record)
    # A template that points at a record ("Tell me my {measure} from this record.") does not fit
    # a message of typed numbers.
    if situation not in ANSWERS or not options or "record" in template:
        return None
    chosen = rng.sample(options, k=rng.randint(1, min(MAX_STATED, len(options))))
    chosen.sort(key=options.index)
    texting = family == TEXTING
    phrases, _ = stated_values(
        [(f, record.facts[f]) for f in chosen], "texting" if texting else "casual", rng
    )
    values = join_all(phrases, rng, texting=texting)
    told = cap(values) + when(record.batch.record_type, rng)
    question = f"{told}{' ' if texting else '. '}{fill(template, **slots)}"
    if not declines_alone(computed_facts(question, ""), situation):
        return None
    given = "your " + join_all([MEASURE[f].subject for f in chosen], rng)
    output = cap(fill(rng.choice(ANSWERS[situation]), given=given, **slots))
    return Draft(family, question, "", output, {}, (), cannot_answer=True)
