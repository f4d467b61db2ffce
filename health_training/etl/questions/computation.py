"""Computation questions: a number worked out with `etl/derived.py` from numbers of the record,
of the message, or both, the answer stating the inputs and the result ("5 km in 27 min is a pace
of 5.4 min per km (5:24 per km).").

Five computations: pace or speed from distance and time (numbers in the message, no input);
energy balance of intake against active kcal (burned from the record or the message); time from
bedtime to wake time (the record's or the message's clock times); the change between a previous
value the user states and the record's (or a second stated one); a share of a total of the record
(deep minutes of minutes asleep). The numbers a user types are drawn from the record or within
realistic ranges. Each family's phrasings live in `computation_phrasings.py`; this module draws the
numbers, computes, and words the answer so that `ml/evaluation/statements.py` attributes no number to a fact
it is not (the previous day's value never follows a fact's cue word).
"""

from __future__ import annotations

import re
from random import Random
from typing import Any

from health_training.etl import derived
from health_training.etl.narratives.wording import clock
from health_training.etl.questions import computation_distance as distance_question
from health_training.etl.questions.computation_phrasings import FAMILIES, situation_of
from health_training.etl.questions.computation_wording import CHANGE_WHAT, SHARES, change_words
from health_training.etl.questions.example import Asked, Draft, Record
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.phrasing import cap, fill, when
from health_training.etl.questions.quantities import (
    hm,
    number,
    say,
    unit_of,
    user_clock,
    user_says,
)

# A change question that asks for the percentage, and one that asks for it beside the difference.
_ASKS_PERCENT = re.compile(r"%|percent|relative", re.IGNORECASE)
_ASKS_BOTH = re.compile(r"\babsolute\b|\btoo\b", re.IGNORECASE)
# Which computations a record type offers; pace and speed need no record, so any active day has
# them. Each comes in the registers of `computation_phrasings.FAMILIES`.
_OFFERED: dict[str, tuple[str, ...]] = {
    "BloodGlucoseRecord": ("change",),
    "HeartRateRecord": ("pace", "speed", "change"),
    "HeartRateVariabilityRmssdRecord": ("change",),
    "SleepSessionRecord": ("sleep_clock", "change", "share"),
    "StepsRecord": ("pace", "speed", "change", "share"),
    "ActiveCaloriesBurnedRecord": ("energy_balance", "speed", "change", "share"),
}
_CHANGE_FACT = {
    "BloodGlucoseRecord": "mean_glucose_mg_dl",
    "HeartRateRecord": "resting_hr_bpm",
    "HeartRateVariabilityRmssdRecord": "mean_rmssd_ms",
    "SleepSessionRecord": "asleep_min",
    "StepsRecord": "total_steps",
    "ActiveCaloriesBurnedRecord": "total_active_kcal",
}
# How far a previous day's value lies from the record's: (smallest, largest, rounded to).
_CHANGE_STEP = {
    "mean_glucose_mg_dl": (3, 30, 1),
    "resting_hr_bpm": (1, 8, 1),
    "mean_rmssd_ms": (2, 15, 1),
    "asleep_min": (10, 90, 5),
    "total_steps": (300, 4_000, 100),
    "total_active_kcal": (40, 300, 10),
}


def energy_balance(intake: int, burned: int, rng: Random) -> tuple[str, dict[str, Any], Asked]:
    bal = derived.energy_balance(intake, burned)
    i, b = say("intake_kcal", intake), say("total_active_kcal", burned)
    m = say("energy_balance_kcal", abs(bal))
    result = f"a surplus of {m}" if bal > 0 else f"a deficit of {m}" if bal < 0 else "no difference"
    text = rng.choice(
        (
            f"{i} eaten minus {b} of active energy leaves {result}.",
            f"Taking {b} of activity from {i} of intake gives {result}.",
        )
    )
    if rng.random() < 0.7:  # active kcal leave out resting metabolism: say so, most of the time
        text += rng.choice(
            (
                " That leaves out the energy your body uses at rest, so it isn't your full daily "
                "balance.",
                " Resting metabolism isn't counted here, so your true balance is lower.",
            )
        )
    facts = {"intake_kcal": intake, "total_active_kcal": burned, "energy_balance_kcal": bal}
    return text, facts, Asked("energy_balance_kcal", bal, "kcal")


def time_in_bed(bed: int, wake: int, rng: Random) -> tuple[str, dict[str, Any], Asked]:
    minutes = derived.sleep_minutes(bed, wake)
    b, w, d = clock(bed), clock(wake), hm(minutes)
    text = rng.choice(
        (
            f"From {b} to {w} is {d}.",
            f"{b} to {w} comes to {d}, or {minutes} min.",
            f"Between {b} and {w} there are {d}.",
        )
    )
    if rng.random() < 0.6:
        text += rng.choice(
            (
                " That is time in bed; actual sleep is usually a little shorter.",
                " Time asleep will be somewhat less, since falling asleep and waking take time.",
            )
        )
    facts = {"bedtime": bed, "wake_time": wake, "sleep_duration_min": minutes}
    return text, facts, Asked("sleep_duration_min", minutes, "min")


def change(fact: str, before: float, after: float) -> tuple[str, dict[str, Any], Asked]:
    """Both values sit after the subject's colon, where no cue word reaches them (the previous
    value is not the record's fact), and never as "from X to Y", which reads as a range."""
    diff = derived.change(before, after)
    pct = derived.percent_change(before, after)
    stem = fact
    for suffix in ("_mg_dl", "_bpm", "_ms", "_min", "_kcal"):
        stem = stem.removesuffix(suffix)
    b, a = say(fact, before), say(fact, after)
    if diff == 0:
        moved = f"{a}, the same as before, so no change"
    else:
        direction, noun = change_words(diff)
        moved = f"{a}, {direction} from {b}, {noun} of {say(fact, abs(diff))} or {abs(pct)}%"
    text = f"{cap(CHANGE_WHAT[fact])}: {moved}."
    facts = {
        fact: after,
        f"previous_{fact}": before,
        f"change_{fact}": diff,
        f"change_{stem}_pct": pct,
    }
    return text, facts, Asked(f"change_{fact}", diff, unit_of(fact))


def share(record: Record, key: str) -> tuple[str, dict[str, Any], Asked]:
    part_fact, whole_fact, _, _, name, sentence = SHARES[key]
    facts = record.facts
    part, whole = facts[part_fact], facts[whole_fact]
    pct = derived.share_pct(part, whole)
    slots = {k: say(k, v) for k, v in facts.items()} | {
        f"{k}__n": number(v) for k, v in facts.items()
    }
    text = sentence.format(share=f"{pct}%", **slots)
    return text, {**facts, name: pct}, Asked(name, pct, "%")


def draft(record: Record, rng: Random) -> Draft | None:
    record_type = record.batch.record_type
    facts = record.facts
    offered = [c for c in _OFFERED.get(record_type, ()) if _possible(c, record)]
    if not offered:
        return None
    situation = rng.choice(offered)
    family = rng.choice(sorted(f for f in FAMILIES if situation_of(f) == situation))
    template, variant = rng.choice(FAMILIES[family])
    slots: dict[str, str] = {"when": when(record_type, rng)}
    input_ = ""
    if situation in ("pace", "speed"):
        template, typed, distance, unit, minutes = distance_question.draw(situation, template, rng)
        slots |= typed
        fn = distance_question.speed if situation == "speed" else distance_question.pace
        text, extra, asked = fn(distance, unit, minutes, rng)
    elif situation == "energy_balance":
        intake = rng.randrange(1_500, 3_250, 50)
        burned = (
            facts["total_active_kcal"] if variant == "record" else rng.randrange(150, 1_200, 10)
        )
        slots |= {
            "intake": user_says("intake_kcal", intake, rng, unit_read=True)[0],
            "burned": user_says("total_active_kcal", burned, rng, unit_read=True)[0],
        }
        text, extra, asked = energy_balance(intake, burned, rng)
    elif situation == "sleep_clock":
        bed, wake = facts["bedtime"], facts["wake_time"]
        slots |= {"bed": user_clock(bed, rng), "wake": user_clock(wake, rng)}
        text, extra, asked = time_in_bed(bed, wake, rng)
    elif situation == "change":
        fact = _CHANGE_FACT[record_type]
        low, high, step = _CHANGE_STEP[fact]
        after = facts[fact]
        high = max(low, min(high, after // 2))  # a previous day within a factor of two
        before = after + rng.choice((-1, 1)) * rng.randrange(low, high + 1, step)
        before = max(step, round(before / step) * step)
        name = rng.choice(MEASURE[fact].names("clinical" if "clinical" in family else "casual"))
        slots |= {
            "what": name,
            "prev": user_says(fact, before, rng, exact=True, unit_read=True)[0],
            "now": user_says(fact, after, rng, exact=True, unit_read=True)[0],
        }
        text, extra, asked = change(fact, before, after)
    else:  # share
        key = rng.choice([k for k, s in SHARES.items() if _has_share(s, facts)])
        slots |= {"part": SHARES[key][2], "whole": SHARES[key][3]}
        text, extra, asked = share(record, key)
    asks = _change_asked(template, asked, extra) if situation == "change" else (asked,)
    if variant == "record":
        input_ = record.input
        extra = {**facts, **extra}
    question = fill(template, **slots)
    return Draft(family, question, input_, text, extra, asks)


def _change_asked(template: str, change_asked: Asked, facts: dict[str, Any]) -> tuple[Asked, ...]:
    """A change asked "as a percentage" asks for the percentage ("a rise of 11%" answers it; run
    15 scored that answer wrong for want of the 5 ms); "absolute and relative", "in % too" ask
    for both."""
    if not _ASKS_PERCENT.search(template):
        return (change_asked,)
    name = next(k for k in facts if k.startswith("change_") and k.endswith("_pct"))
    percent = Asked(name, facts[name], "%")
    return (change_asked, percent) if _ASKS_BOTH.search(template) else (percent,)


def _possible(situation: str, record: Record) -> bool:
    facts = record.facts
    if situation == "energy_balance":
        return "total_active_kcal" in facts
    if situation == "sleep_clock":
        return "bedtime" in facts and "wake_time" in facts
    if situation == "change":
        return _CHANGE_FACT.get(record.batch.record_type, "") in facts
    if situation == "share":
        return any(_has_share(s, facts) for s in SHARES.values())
    return True


def _has_share(spec: tuple[str, ...], facts: dict[str, Any]) -> bool:
    return spec[0] in facts and spec[1] in facts and facts[spec[1]] > 0
