"""The computed line's verdicts, when no arithmetic applies: each judged measure a question
names or states, with its value and the clause the answers use; what it asks that no input
holds (what one record cannot give, `asked_scope.py`, comes first: `computed.py`).
"""

from __future__ import annotations

import re

from health_training.etl.stated_sums import paired_unit

HOUR_FACTS = frozenset({"peak_hour_steps", "peak_hour_kcal"})
PEAK_HOUR = re.compile(r"(?:Most active|Peak) hour (\d\d:\d\d)")
UNJUDGED = "has no reference range here"  # a stated value no rule of verdicts.py judges


def judged(
    question: str, context: str, named: list[str], asked: list, recorded: dict[str, float]
) -> list[str]:
    """The verdicts on the measures the question is about, or what it asks that is not given
    (`named`: the facts it names, `asked`: its quantities, `recorded`: the record's values)."""
    from health_training.etl import measured_values as mv
    from health_training.etl.asked_scope import asking_sentences
    from health_training.etl.named_topics import named_topics
    from health_training.etl.questions.day_summary import HEADLINE_FACTS
    from health_training.etl.questions.measures import MEASURE, RECORD_TOPIC
    from health_training.etl.questions.quantities import say, unit_of
    from health_training.etl.questions.verdicts import JUDGED_FACTS, judge
    from health_training.etl.record_lines import record_types

    topics = named_topics(question)
    untracked = [f"no {name} data given" for t, name in dict.fromkeys(topics) if t is None]
    if untracked and any(t is None for t, _ in named_topics(asking_sentences(question))):
        return untracked  # "based on my 8,000 steps, what is my blood pressure?"
    stated = mv.stated_values(question)
    types = record_types(context) | {MEASURE[f].record_type for f in recorded}
    # What the asking sentence is about, when no input holds it, is all the line says: "I logged
    # 8,400 steps today and about 450 active kcal. What was my average glucose?" got the steps'
    # and calories' verdicts (set H, run 25), as the question's other names were given.
    # A number of the measure's unit is its data all the same ("today's reading: 38 ms").
    asking = asking_sentences(question)
    asked_facts = [f for _, _, fs in mv.named_facts(asking) for f in fs]
    about = dict.fromkeys(
        [MEASURE[f].record_type for f in asked_facts] + [t for t, _ in named_topics(asking) if t]
    )
    held = types | {MEASURE[f].record_type for f in stated}
    units = {paired_unit(q.unit) for q in asked}
    if (
        about
        and not any(t in held for t in about)
        and not any(unit_of(f) in units for f in asked_facts)
    ):
        return [f"no {RECORD_TOPIC[t][0]} data given" for t in about]
    if named or stated:
        facts = [f for f in JUDGED_FACTS if f in named or f in stated]
    else:  # "how were my calories?": the record's headline measure; "how was my day?": each's
        about = {t for t, _ in topics} if topics else types
        facts = [HEADLINE_FACTS[t] for t in sorted(types & about) if t in HEADLINE_FACTS]
    said: dict[str, str] = {}
    for fact in facts:
        value = recorded.get(fact, stated.get(fact))
        if value is not None:
            said[fact] = (
                f"{MEASURE[fact].subject} {say(fact, value)} is {judge(fact, value).clause}"
            )
    # A value the question names or states that has no clinical rule, as the record holds it
    # or the user wrote it ("lowest HRV reading 22 ms", "deep sleep 48 min"): with no line of
    # their own, run 19 answered such look-ups with the line's neighbouring verdict (the average
    # HRV, the night's total sleep) and judged one of two stated values. A busiest hour is asked
    # for its time, which the record's sentence gives.
    # A value the user states with no rule says so (UNJUDGED, the clause the writer's answers
    # copy): a bare "average heart rate 88 bpm" before "peak heart rate 171 bpm is at or below
    # the 190 bpm reference maximum" was answered with the peak's verdict (run 24).
    # A busiest hour is asked for its time or its count: the record's sentence gives both, and
    # the line says both ("busiest hour 10:00 with 1,265 steps"; set H's "how many steps were in
    # my busiest hour?" got the day's step verdict from run 25's line).
    for fact in dict.fromkeys([*named, *stated]):
        value = recorded.get(fact, stated.get(fact))
        if fact not in JUDGED_FACTS and value is not None:
            said[fact] = f"{MEASURE[fact].subject} {say(fact, value)}"
            said[fact] += f" {UNJUDGED}" if fact in stated and fact not in recorded else ""
            hour = PEAK_HOUR.search(context) if fact in HOUR_FACTS else None
            if hour and fact in recorded:
                said[fact] = f"{MEASURE[fact].subject} {hour[1]} with {say(fact, value)}"
    # In the order the user wrote the values, then named the measures: the writer's answers
    # follow the message, and a line in another order ("7.5 hours asleep, 22% deep, 24% REM, 92%
    # efficiency" lined up with efficiency second) left set G's answers skipping one value and
    # repeating others.
    mentioned = [*stated, *(f for f in named if f not in stated)]
    parts = [said[f] for f in sorted(said, key=lambda f: _rank(mentioned, f))]
    # A stated value of the record type ("31 pct REM sleep" names REM minutes and states the
    # share), or a number of the measure's unit the parser could not bind ("today's reading of
    # 38 ms"), is data given all the same.
    types |= {MEASURE[f].record_type for f in stated}
    wanted = dict.fromkeys([MEASURE[f].record_type for f in named] + [t for t, _ in topics if t])
    given = any(t in types for t in wanted) or any(unit_of(f) in units for f in named)
    if wanted and not given:
        parts += [f"no {RECORD_TOPIC[t][0]} data given" for t in wanted]
    return parts + untracked  # measures no record holds ("blood pressure") are never given


def _rank(mentioned: list[str], fact: str) -> int:
    """Where `fact` comes in the message; a fact it neither states nor names goes last."""
    return mentioned.index(fact) if fact in mentioned else len(mentioned)
