"""Day summaries: one user's day across two to four record types ("Summarize my day"), the input
being the records' inputs joined, the answer one sentence per record type with its key numbers
and verdict (`verdicts.judge`), sometimes a closing line naming what to watch.

Facts are the records' facts merged; the few names two record types share with different values
(steps and active calories both have a `peak_hour`) are left out, since no single value is right.
"""

from __future__ import annotations

from random import Random
from typing import Any

from health_training.etl.questions.example import Asked, Draft, Record
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.phrasing import cap
from health_training.etl.questions.quantities import say, unit_of
from health_training.etl.questions.verdicts import judge

FAMILIES: dict[str, tuple[str, ...]] = {
    "day_summary.casual": (
        "Summarize my day.",
        "How did my day look overall?",
        "Give me a rundown of my day.",
        "What's the big picture for my day?",
        "Can you sum up how my body did today?",
        "How was my day, health-wise?",
    ),
    "day_summary.clinical": (
        "Provide a brief summary of this user's day across the records below.",
        "Summarize the clinically relevant findings across these records.",
        "Give a concise daily summary of the following wearable data.",
        "Please write a one-line assessment per record type for this day.",
        "Review the records below and summarize the day.",
        "Produce a short daily health summary from these measurements.",
    ),
    "day_summary.texting": (
        "sum up my day pls",
        "how was my day lol",
        "day summary?",
        "quick recap of my day",
        "tl;dr my day",
        "hw did i do today",
    ),
    "day_summary.coach": (
        "As my coach, how was my day?",
        "Coach, give me the summary of my day.",
        "Where did I do well today and where not?",
        "What stands out in my data today?",
        "How did I do today across everything?",
        "Check in on my day: anything I should know?",
    ),
    "day_summary.morning_brief": (
        "Morning check-in: how did yesterday go?",
        "Recap yesterday for me.",
        "What did yesterday look like overall?",
        "Brief me on yesterday's numbers.",
        "How was yesterday overall?",
        "Give me yesterday's summary.",
    ),
}

# record type -> (judged fact, other facts the sentence states, sentence templates). `{v}` is the
# judged value, `{clause}` its verdict, other slots are fact names.
_SENTENCES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "BloodGlucoseRecord": (
        "time_in_range_pct",
        ("mean_glucose_mg_dl",),
        (
            "Glucose averaged {mean_glucose_mg_dl}, and time in range was {v}, {clause}.",
            "Your time in range was {v}, {clause}, with glucose averaging {mean_glucose_mg_dl}.",
        ),
    ),
    "HeartRateRecord": (
        "resting_hr_bpm",
        (),
        (
            "Resting heart rate was {v}, {clause}.",
            "Your resting heart rate of {v} is {clause}.",
        ),
    ),
    "HeartRateVariabilityRmssdRecord": (
        "mean_rmssd_ms",
        (),
        ("HRV averaged {v}, {clause}.", "Your average HRV of {v} is {clause}."),
    ),
    "SleepSessionRecord": (
        "asleep_min",
        ("sleep_efficiency_pct",),
        (
            "You slept {v}, {clause}, with a sleep efficiency of {sleep_efficiency_pct}.",
            "Total sleep was {v}, {clause}.",
        ),
    ),
    "StepsRecord": (
        "total_steps",
        (),
        ("You took {v}, {clause}.", "Your step total of {v} is {clause}."),
    ),
    "ActiveCaloriesBurnedRecord": (
        "total_active_kcal",
        (),
        (
            "You burned {v} of active energy, {clause}.",
            "Your active calorie total of {v} is {clause}.",
        ),
    ),
}
MAX_RECORDS = 4
# The fact a summary judges for each record type (also what the computed line judges when a
# question names no measure: "how was my day?").
HEADLINE_FACTS: dict[str, str] = {record_type: s[0] for record_type, s in _SENTENCES.items()}


def merged_facts(records: list[Record]) -> dict[str, Any]:
    """All records' facts; a name two records give different values is left out."""
    merged: dict[str, Any] = {}
    clashes: set[str] = set()
    for record in records:
        for name, value in record.facts.items():
            if name in merged and merged[name] != value:
                clashes.add(name)
            merged.setdefault(name, value)
    return {k: v for k, v in merged.items() if k not in clashes}


def summarizable(records: list[Record]) -> list[Record]:
    """The records a summary can speak about: known type, usable statistics."""
    return [
        r
        for r in records
        if r.batch.record_type in _SENTENCES and _SENTENCES[r.batch.record_type][0] in r.facts
    ]


def draft(records: list[Record], rng: Random) -> tuple[Draft, list[Record]] | None:
    """A summary of 2-4 of `records` (one user, one day) and the records it covers, or None when
    fewer than two qualify."""
    usable = summarizable(records)
    if len(usable) < 2:
        return None
    if len(usable) > MAX_RECORDS:
        keep = rng.sample(range(len(usable)), MAX_RECORDS)
        usable = [usable[i] for i in sorted(keep)]
    family = rng.choice(sorted(FAMILIES))
    sentences, asked, worst = [], [], None
    for record in usable:
        fact, others, templates = _SENTENCES[record.batch.record_type]
        value = record.facts[fact]
        verdict = judge(fact, value)
        slots = {name: say(name, record.facts[name]) for name in others}
        sentences.append(
            rng.choice(templates).format(v=say(fact, value), clause=verdict.clause, **slots)
        )
        asked.append(Asked(fact, value, unit_of(fact)))
        if verdict.flagged and (worst is None or verdict.severity > worst[1].severity):
            worst = (fact, verdict)
    if worst and rng.random() < 0.6:
        sentences.append(f"The main thing to watch is your {MEASURE[worst[0]].subject}.")
    elif not worst and rng.random() < 0.5:
        sentences.append(rng.choice(("Overall a healthy day.", "Nothing here needs attention.")))
    output = " ".join(cap(s) for s in sentences)
    input_ = "\n".join(r.input for r in usable)
    question = rng.choice(FAMILIES[family])
    return Draft(family, question, input_, output, merged_facts(usable), tuple(asked)), usable
