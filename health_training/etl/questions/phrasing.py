"""Small text helpers every question kind shares: filling templates, time words, closers.

Questions never carry a date with a day of the month (the PHI scrubber treats one as an
identifier); they say "yesterday", "today" or "last night" instead. Closers vary and are often left
out, so that answers do not all end with the same sentence.
"""

from __future__ import annotations

import re
from random import Random

from health_training.etl.questions.verdicts import Verdict

SLEEP = "SleepSessionRecord"
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([?.,!:;])")
_A_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[aeiAEI])")  # "a active energy" -> "an active ..."


def fill(template: str, **slots: str) -> str:
    """`template` with its slots filled, runs of spaces collapsed, no space before punctuation
    (an empty time word leaves neither) and "a" before a vowel made "an"."""
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(template.format(**slots).split()))
    return _A_BEFORE_VOWEL.sub(r"\1n ", text)


def cap(text: str) -> str:
    """The first letter upper-cased ("your resting..." -> "Your resting...")."""
    return text[:1].upper() + text[1:]


def when(record_type: str, rng: Random) -> str:
    """A time word for the record's day, with its leading space, or nothing."""
    if record_type == SLEEP:
        return rng.choice((" last night", " last night", ""))
    return day_when(rng)


def day_when(rng: Random) -> str:
    """A time word for a whole day (records of several types), with its leading space, or
    nothing."""
    return rng.choice((" yesterday", " today", ""))


def day_word(record_type: str) -> str:
    return "night" if record_type == SLEEP else "day"


def join_all(parts: list[str], rng: Random, texting: bool = False) -> str:
    """ "a, b and c"; in texting style sometimes "a, b, c"."""
    if len(parts) < 2:
        return "".join(parts)
    if texting and rng.random() < 0.5:
        return ", ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


_CLOSERS: dict[tuple[bool, int], tuple[str, ...]] = {
    (True, 2): (
        "If it stays like this, talk to your doctor.",
        "One day is not a diagnosis, but it is worth keeping an eye on.",
        "Worth raising with your care team if it repeats.",
        "Check whether it repeats over the next few days.",
    ),
    (True, 1): (
        "Worth watching over the next few days.",
        "One day on its own is not a cause for alarm.",
        "A few more days of data will show whether it is a pattern.",
        "Small changes in routine often move this.",
    ),
    (True, 0): (
        "On its own this is common and not a cause for concern.",
        "Stage shares vary from night to night.",
    ),
    (False, 0): (
        "Nothing to worry about here.",
        "That's a good sign.",
        "Keep it up.",
        "No action needed.",
        "That looks healthy.",
    ),
}


def closer(verdict: Verdict, rng: Random, keep: float = 0.5) -> str:
    """A closing sentence fitting the verdict, or "" (about half the time)."""
    if rng.random() >= keep:
        return ""
    return rng.choice(_CLOSERS[verdict.flagged, verdict.severity if verdict.flagged else 0])


def lead(verdict: Verdict, polarity: str, rng: Random) -> str:
    """The yes/no that opens a judgement: `polarity` says what the question asked.

    "bad": is it bad / worrying (yes when flagged); "ok": is it fine / normal (yes when not
    flagged); "open": how is it (no yes or no: the verdict's label)."""
    if polarity == "open":
        return rng.choice(
            (f"It's {verdict.label}.", f"Short answer: {verdict.label}.", f"{cap(verdict.label)}.")
        )
    yes = verdict.flagged == (polarity == "bad")
    if yes and polarity == "bad":
        options = ("Yes.", "Yes, it is.") if verdict.severity >= 2 else ("Somewhat.", "A little.")
    elif yes:
        options = ("Yes.", "Yes, it is.", "It is.")
    elif polarity == "bad":
        options = ("No.", "Not really.", "No, it's fine.")
    else:
        options = ("No.", "Not quite.", "Not really.")
    return rng.choice(options)


def judged_sentence(subject: str, value_text: str, verdict: Verdict, rng: Random) -> str:
    """One sentence stating a value and its verdict, in one of three shapes; the subject always
    precedes or closely follows the value, so `ml/evaluation/statements.py` attributes it."""
    shape = rng.randrange(3)
    if shape == 0:
        return f"Your {subject} was {value_text}, {verdict.clause}."
    if shape == 1:
        return f"At {value_text}, your {subject} is {verdict.clause}."
    return f"Your {subject} of {value_text} is {verdict.clause}."
