"""User-stated days: one message states values of two to four record types ("slept 6 h 10 min,
9,400 steps and a resting hr of 58 yesterday, how was my day?"), with no record in the input.

Until run 22 every user-stated message held values of one record type, while the questions people
send about their day mix sleep, steps and heart rate; served messages like that were answered
with one or two of their values. The values come from one user's records of one day (the day
summary's batches), so they are realistic together; the answer is `user_stated.answer`, one
judged sentence per value in the message's order.
"""

from __future__ import annotations

from random import Random

from health_training.etl.questions.example import Draft, Record
from health_training.etl.questions.phrasing import day_when
from health_training.etl.questions.user_stated import (
    flagged_options,
    stated_draft,
    stated_options,
    stated_values,
)

FAMILIES: dict[str, tuple[str, ...]] = {
    "user_stated.day_recap": (
        "How was my day? {Values}{when}.",
        "Summarize my day: {values}{when}.",
        "Here's my day{when}: {values}. How does it look overall?",
        "Quick recap{when}: {values}. Anything stand out?",
        "{Values}{when}. How did I do?",
        "Can you look over my numbers{when}? {Values}.",
    ),
    "user_stated.day_texting": (
        "day recap{when}: {values} hows that",
        "{values}{when} how was my day",
        "ok so {values}{when}. good day or nah",
        "sum up my day pls: {values}",
        "{values}{when} anything bad??",
        "stats{when} - {values}. thoughts",
    ),
    "user_stated.day_clinical": (
        "Daily values{when}: {values}. Please summarize.",
        "Summarize the following self-reported measurements{when}: {values}.",
        "Please assess this day: {values}.",
        "Patient-reported day{when}: {values}. Any concerns?",
        "Interpret these measurements together: {values}.",
        "Provide an overview of {values}{when}.",
    ),
}
_REGISTER = {
    "user_stated.day_recap": "casual",
    "user_stated.day_texting": "texting",
    "user_stated.day_clinical": "clinical",
}
# How many record types one message covers, and how many values it states in all.
_TYPE_COUNTS = (2, 2, 3, 3, 4)
_MAX_VALUES = 5


def draft(records: list[Record], rng: Random) -> tuple[Draft, list[Record]] | None:
    """A message stating values of 2-4 of `records` (one user, one day) and the records it
    states, or None when fewer than two record types have a value a user could state."""
    usable = [r for r in records if r.analysis.stats is not None and stated_options(r)]
    if len({r.batch.record_type for r in usable}) < 2:
        return None
    picked = sorted(rng.sample(range(len(usable)), min(len(usable), rng.choice(_TYPE_COUNTS))))
    chosen: list[tuple[str, float]] = []
    for i in picked:
        record = usable[i]
        options = stated_options(record)
        # The day's abnormal value, when a record has one, is the one stated half the time.
        flagged = flagged_options(record, options)
        pool = flagged if flagged and rng.random() < 0.5 else options
        for fact in rng.sample(pool, min(len(pool), 1 + (rng.random() < 0.3))):
            chosen.append((fact, record.facts[fact]))
    chosen = chosen[:_MAX_VALUES]
    used = [r for r in usable if any(f in stated_options(r) for f, _ in chosen)]
    family = rng.choice(sorted(FAMILIES))
    register = _REGISTER[family]
    phrases, stated = stated_values(chosen, register, rng)
    message = stated_draft(
        family,
        rng.choice(FAMILIES[family]),
        phrases,
        stated,
        rng,
        texting=register == "texting",
        when=day_when(rng),
    )
    return message, used
