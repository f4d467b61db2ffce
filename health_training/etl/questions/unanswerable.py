"""Unanswerable questions: what the data cannot tell (a trend from one day, a measure the record
does not hold, tomorrow's value, a cause, another period, a diagnosis, a treatment decision, a
question with no data, a record with no usable reading). The answer says what is missing and states no number that the
question does not hold; every answer matches `CANNOT_ANSWER` (the evaluation's regex), with the
wording varied across families.

Each phrasing is (template, answers): the answer templates that fit it. Slots: `{topic}` the
record's subject ("blood sugar"), `{holds}` what the record holds ("a day of step counts"),
`{day}` "day" or "night", `{measure}` a measure the record lacks, `{period_*}` a period longer
than the record, `{other}` another period, `{condition}` a diagnosis, `{what}` a measure's name,
`{when}` a time word, `{medication}` a medicine.
"""

from __future__ import annotations

from random import Random

from health_training.etl.questions.example import Draft, Record
from health_training.etl.questions.measures import MEASURES, RECORD_HOLDS, RECORD_TOPIC
from health_training.etl.questions.phrasing import cap, day_word, fill, when
from health_training.etl.questions.unanswerable_phrasings import (
    CONDITIONS,
    FAMILIES,
    MEDICATIONS,
    MISSING,
    NO_DATA,
    OTHERS,
    PERIODS,
    SITUATIONS,
    UNUSABLE,
)
from health_training.etl.questions.unanswerable_stated import STATED_SHARE, stated_draft
from health_training.ml.evaluation.freeform_eval import CANNOT_ANSWER

__all__ = ["CANNOT_ANSWER", "FAMILIES", "draft"]


def draft(record: Record, rng: Random) -> Draft:
    """Never None: any record supports some unanswerable question."""
    record_type = record.batch.record_type
    # A record with no usable reading has one situation; a usable one any other.
    if record.analysis.stats is None:
        situation = UNUSABLE
    else:
        situation = rng.choice(sorted(s for s in SITUATIONS if s != UNUSABLE))
    answers, questions = SITUATIONS[situation]
    family, template = rng.choice(questions)
    topics = RECORD_TOPIC.get(record_type, ("readings",))
    names = [m for m in MEASURES if m.record_type == record_type] or list(MEASURES)
    measure = rng.choice(names)
    missing = rng.choice([m for m in MISSING if record_type not in m[2]])
    period_adj, period_adv, period_noun = rng.choice(PERIODS)
    slots = {
        "topic": rng.choice(topics),
        "holds": RECORD_HOLDS.get(record_type, "readings of a type I cannot interpret"),
        "day": day_word(record_type),
        "measure": missing[0],
        "measure_answer": missing[1],
        "period_adj": period_adj,
        "period_adv": period_adv,
        "period_noun": period_noun,
        "other": rng.choice(OTHERS),
        "condition": CONDITIONS.get(record_type, "health problem"),
        "medication": rng.choice(MEDICATIONS.get(record_type, ("medication",))),
        "what": rng.choice(measure.casual),
        "when": when(record_type, rng),
    }
    # Beside the user's own numbers (no record) some of the time, as served questions come.
    if rng.random() < STATED_SHARE:
        stated = stated_draft(record, situation, family, template, slots, rng)
        if stated:
            return stated
    question = fill(template, **slots)
    output = cap(fill(rng.choice(answers), **slots))
    input_ = "" if situation == NO_DATA else record.input
    facts = {} if situation == NO_DATA else dict(record.facts)
    return Draft(family, question, input_, output, facts, (), cannot_answer=True)
