"""How the question writer writes numbers: canonically in answers, in many ways in questions.

Answers write every number the way `ml/evaluation/faithfulness.py` and `ml/evaluation/statements.py` read it: the value
followed by its canonical unit ("163 mg/dL", "62%", "58 bpm", "41 ms", "7 h 30 min", "8,420 steps",
"512 kcal", clock times "18:05"). Questions write them the way people type them ("163 mg/dl",
"163 mg per dL", "58 beats/min", "6.5 hrs", "400 mins", "512 cals"); `user_says` returns the text
and the value it states, which can differ from the record's when a duration is said in hours with
one decimal (397 min said as "6.6 hrs" states 396 min), so that the answer restates what was said.
"""

from __future__ import annotations

from random import Random

from health_training.data.fact_vocabulary import FACT_UNITS
from health_training.etl.derived import hours_minutes
from health_training.etl.narratives.wording import clock

# Durations long enough that people say them in hours.
HOUR_FACTS = frozenset({"asleep_min", "time_in_bed_min", "sleep_duration_min"})


def unit_of(fact: str) -> str | None:
    """The canonical unit of a fact (FACT_UNITS; computed facts by their name's suffix)."""
    if fact in FACT_UNITS:
        unit = FACT_UNITS[fact]
        return None if unit == "count" else unit
    for suffix, unit in (
        ("_mg_dl", "mg/dL"),
        ("_pct", "%"),
        ("_bpm", "bpm"),
        ("_ms", "ms"),
        ("_min", "min"),
        ("_steps", "steps"),
        ("_kcal", "kcal"),
    ):
        if fact.endswith(suffix):
            return unit
    return None


def hm(minutes: float) -> str:
    """450 -> "7 h 30 min", 420 -> "7 h", 45 -> "45 min": one duration to the parsers."""
    hours, mins = hours_minutes(round(minutes))
    if not hours:
        return f"{mins} min"
    return f"{hours} h" if not mins else f"{hours} h {mins} min"


def number(value: float) -> str:
    """A bare number: thousands separated, one decimal kept only when there is one."""
    if float(value) != int(value):
        return f"{value:.1f}"
    return f"{int(value):,}"


def say(fact: str, value: float) -> str:
    """The canonical way an answer writes `value` of `fact`."""
    unit = unit_of(fact)
    if unit == "time":
        return clock(int(value))
    if fact in HOUR_FACTS:
        return hm(value)
    if fact == "gmi_pct":
        return f"{value:.1f}%"
    if unit == "%":
        return f"{number(value)}%"
    if unit is None:
        return number(value)
    return f"{number(value)} {unit}"


# How people type each unit after a number: "{n}" is the number as text.
_USER_UNITS: dict[str, tuple[str, ...]] = {
    "mg/dL": ("{n} mg/dL", "{n} mg/dl", "{n}mg/dl", "{n} mg per dL", "{n}", "{n} mg/DL"),
    "%": ("{n}%", "{n} %", "{n} percent", "{n} pct", "{n}%"),
    "bpm": ("{n} bpm", "{n}bpm", "{n} beats/min", "{n} beats per minute", "{n}", "{n} BPM"),
    "ms": ("{n} ms", "{n}ms", "{n} milliseconds", "{n}"),
    "steps": ("{n} steps",),
    # Not "cal" or "Cal" on its own: the NER model reads "423 Cal" as a name.
    "kcal": ("{n} kcal", "{n} cals", "{n} calories", "{n}kcal"),
    "min": ("{n} min", "{n} mins", "{n} minutes", "{n}min"),
}


# Spellings `ml/evaluation/faithfulness.py` reads as no unit. The serving guard derives a change or a
# balance only from two numbers of one unit, so computations write units it reads.
_UNREAD = frozenset({"{n} mg per dL", "{n}", "{n} pct", "{n} cals"})


def user_says(
    fact: str, value: float, rng: Random, exact: bool = False, unit_read: bool = False
) -> tuple[str, float]:
    """(how a user might type `value`, the value that text states); `exact` rules out hours with
    a decimal, which can state a slightly different number of minutes; `unit_read` rules out
    spellings whose unit the number parsers do not read ("mg per dL", "cals", none)."""
    unit = unit_of(fact)
    if unit == "time":
        return user_clock(int(value), rng), value
    if fact in HOUR_FACTS:
        return _user_duration(int(value), rng, exact)
    if unit == "steps":
        text = f"{int(value):,}" if rng.random() < 0.6 else str(int(value))
    else:
        text = number(value) if unit != "%" else str(value)
    if unit is None:
        return text, value
    spellings = [s for s in _USER_UNITS[unit] if not (unit_read and s in _UNREAD)]
    return rng.choice(spellings).format(n=text), value


def _user_duration(minutes: int, rng: Random, exact: bool) -> tuple[str, float]:
    hours, mins = hours_minutes(minutes)
    style = rng.randrange(4 if exact else 5)
    if style == 0:
        return f"{hours} h {mins} min", minutes
    if style == 1:
        return f"{hours} hrs {mins} mins", minutes
    if style == 2:
        return f"{hours} hours {mins} minutes", minutes
    if style == 3:
        return f"{minutes} mins", minutes
    tenths = round(minutes / 6) / 10  # hours with one decimal, as people round them
    return f"{tenths:g} hrs", round(tenths * 60)


def user_clock(minute: int, rng: Random) -> str:
    """A clock time as typed: "23:40", "11:40pm", "11:40 pm"."""
    hour, mins = divmod(minute % 1440, 60)
    style = rng.randrange(3)
    if style == 0:
        return f"{hour:02d}:{mins:02d}"
    half = "am" if hour < 12 else "pm"
    return f"{(hour - 1) % 12 + 1}:{mins:02d}{'' if style == 1 else ' '}{half}"
