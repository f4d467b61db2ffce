"""What a sentence of a user's message is about, for the numbers whose own words do not say: a
word that needs a unit ("avg 178") takes the unit of its sentence's measure, and "% of my goal"
is the share of the nearest total or of the one record type its sentence names."""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache

from health_training.etl.name_pattern import name_key, spaced
from health_training.etl.named_topics import named_topics
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.quantities import unit_of
from health_training.etl.served_words import SERVED_TOPICS

SENTENCE_END = re.compile(r"[.?!](?:\s|$)|\n")
GOAL_SHARES = frozenset({"steps_pct_of_goal", "kcal_pct_of_goal"})
_GOAL_SHARE_OF = {"steps": "steps_pct_of_goal", "kcal": "kcal_pct_of_goal"}
_GOAL_SHARE_OF_TYPE = {MEASURE[f].record_type: f for f in sorted(GOAL_SHARES)}


def goal_share(facts: tuple[str, ...], before: list, topics: set[str]) -> tuple[str, ...]:
    """Of "% of my goal"'s facts, the share of the nearest total before it (steps or kcal), else
    of the one of the two its sentence is about."""
    for _, _, unit, _ in reversed(before):
        if unit in _GOAL_SHARE_OF:
            return (_GOAL_SHARE_OF[unit],)
    about = [f for t, f in _GOAL_SHARE_OF_TYPE.items() if t in topics]
    return tuple(about) if len(about) == 1 else ()  # no share rather than the wrong one


def sentence_ends(text: str) -> list[int]:
    return [m.end() for m in SENTENCE_END.finditer(text)]


def sentence_of(text: str, at: int, ends: list[int] | None = None) -> tuple[int, int]:
    """Where the sentence holding `at` begins and ends (`ends`: `sentence_ends(text)`, when a
    caller asks of many positions)."""
    ends = sentence_ends(text) if ends is None else ends
    i = bisect_right(ends, at)
    return (ends[i - 1] if i else 0), (ends[i] if i < len(ends) else len(text))


# The record type a number of a unit belongs to, where only one has that unit.
_TYPE_OF_UNIT = {
    "mg/dL": "BloodGlucoseRecord",
    "bpm": "HeartRateRecord",
    "ms": "HeartRateVariabilityRmssdRecord",
}


def sentence_topics(text: str, names: list, only_with_unit: frozenset[str], scanned: list):
    """A function from a position to the record types its sentence is about: those its measure
    names, whole-type names ("blood sugar") and units ("38 ms") hold."""
    ends = sentence_ends(text)

    def sentence(at: int) -> tuple[int, int]:
        return sentence_of(text, at, ends)

    @cache
    def of_sentence(lo: int, hi: int) -> set[str]:
        found = {
            MEASURE[f].record_type
            for start, end, facts in names
            if lo <= start and end <= hi and name_key(text[start:end]) not in only_with_unit
            for f in facts
            if f in MEASURE
        }
        found |= {t for t, _ in named_topics(text[lo:hi]) if t}
        found |= {
            t for t, words in SERVED_TOPICS.items() if _topic_words(words).search(text, lo, hi)
        }
        return found | {
            _TYPE_OF_UNIT[u] for s, _, u, _ in scanned if lo <= s < hi and u in _TYPE_OF_UNIT
        }

    return lambda at: of_sentence(*sentence(at))


@cache
def _topic_words(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{'|'.join(map(spaced, words))})\b", re.IGNORECASE)


def unit_of_topic(facts: tuple[str, ...], topics: set[str]) -> str | None:
    """The unit a bare number takes beside a word that needs one ("avg 178" after "Dexcom", "lowest
    12" after "hrv"): that of the word's facts of the sentence's record types, when one."""
    units = {unit_of(f) for f in facts if f in MEASURE and MEASURE[f].record_type in topics}
    return units.pop() if len(units) == 1 else None
