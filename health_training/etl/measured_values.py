"""Which measure each number of a message or a record is, so the computed line can judge it.

The writer knows every fact of a record (`metadata.facts`); the model server sees only text: a
user's message with their own numbers, perhaps followed by records the ETL writer formatted.
Both must give the model the same input, so both read values back from the text with these
functions:

  * `named_facts(text)`: where the text names a measure, by every name of `questions/measures.py`
    (all registers: the names are the vocabulary, the held-out families are phrasings), and
    what a question asks about in words set apart ("the lowest my hrv got", "below 70");
  * `stated_values(text)`: each number the user wrote bound to the nearest named measure whose
    unit fits (a bare "66" next to "resting pulse" is 66 bpm), one number per name, nearest pairs
    first, never across a sentence end.

The other readers live beside it: `record_lines` (values of the writer's own record lines),
`named_topics` (record types and untracked measures named as a whole), `number_context` (a year,
an age, a range's end; "deep 1:35" as a duration) and `sentence_topics` (what a sentence is
about, for the words that need a unit).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cache

from health_training.data.fact_vocabulary import FACT_UNITS
from health_training.etl.asked_dates import is_ordinal
from health_training.etl.asked_words import asked_in_words
from health_training.etl.name_pattern import name_key, spaced
from health_training.etl.number_context import (
    PERIOD_AFTER,
    ends_a_range,
    is_age,
    is_duration_clock,
    is_year,
)
from health_training.etl.questions.measures import MEASURES, REGISTERS
from health_training.etl.questions.quantities import unit_of
from health_training.etl.sentence_topics import (
    GOAL_SHARES,
    SENTENCE_END,
    goal_share,
    sentence_of,
    sentence_topics,
    unit_of_topic,
)
from health_training.etl.served_words import MAX_COUNT, SERVED_NAMES, SERVED_WORDS

_NEXT_CLAUSE = re.compile(r"[,;]|\b(?:and|but|while)\b", re.IGNORECASE)
_NEAR_WITH_UNIT = 40  # characters between a number with a unit and the name it belongs to
_ARTICLE = re.compile(r"^(?:an?|the)\s+|\s+of$")  # "a low of {v}" -> "low"
# Units the quantity scanner leaves unread ("22 pct", "515 cals", "6.5 hrs"): unit, factor. On
# the number's line only: "Steps: 12,408\nActive calories: 684" is no 12,408 kcal (set N).
_UNIT_AFTER = (
    (re.compile(r"[^\S\n]*(?:pct|percent)\b", re.IGNORECASE), "%", 1.0),
    (re.compile(r"[^\S\n]*(?:active\s+)?(?:cals?|calories|kcal)\b", re.IGNORECASE), "kcal", 1.0),
    (re.compile(r"[^\S\n]*(?:hrs?|hours?)\b", re.IGNORECASE), "min", 60.0),
    (re.compile(r"[^\S\n]*mg per dL\b", re.IGNORECASE), "mg/dL", 1.0),
    (re.compile(r"[^\S\n]*(?:km|k|kilomet(?:er|re)s?|mi|miles?)\b", re.I), "distance", 1.0),
)
NEAR_BARE = 20  # a bare number ("resting pulse 66") must sit right by its name
_LEADS_TO_NUMBER = re.compile(r"\b(?:at|to|hit)$", re.IGNORECASE)
_MEASURED_FACTS = frozenset(m.fact for m in MEASURES)


@cache
def _names(with_stated: bool) -> tuple[re.Pattern[str], dict[str, tuple[str, ...]], frozenset[str]]:
    """One pattern of every name, longest first (so "sleep efficiency" is not read as "sleep"),
    and each lower-cased name's facts (a name may be two facts' name: "deep sleep" is minutes
    or a share; the number's unit decides). `with_stated` adds the words users put around their
    own numbers ("a low of 40", "43 min to fall asleep"), which only name a measure next to a
    number with a unit ("I felt low" names none, nor does "min" in "20 km in 50 min"); the
    third value is the set of those words that are no measure's name."""
    from health_training.etl.questions.user_stated import STATED

    named = [(m.fact, n) for m in MEASURES for r in REGISTERS for n in m.names(r)]
    for fact, ways in STATED.items() if with_stated else ():
        for way in (w for register in ways for w in register):
            words = _ARTICLE.sub("", way.replace("{v}", "").strip()).strip()
            if words:
                named.append((fact, words))
    served = [*SERVED_WORDS, *SERVED_NAMES] if with_stated else []
    named += served
    facts: dict[str, list[str]] = {}
    for fact, name in named:
        fact_list = facts.setdefault(name_key(name), [])
        if fact not in fact_list:
            fact_list.append(fact)
    alternation = "|".join(spaced(n) for n in sorted(facts, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w%])(?:{alternation})(?![\w%])", re.IGNORECASE)
    measure_names = {name_key(n) for m in MEASURES for r in REGISTERS for n in m.names(r)}
    bare_binding = measure_names | {name_key(n) for _, n in SERVED_NAMES}
    return (
        pattern,
        {name: tuple(found) for name, found in facts.items()},
        frozenset(facts) - bare_binding,
    )


def named_facts(text: str, with_stated: bool = False) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, facts) of every measure name in `text`, in order; without `with_stated`
    (what a question asks about) also an extreme apart from its measure and "below 70"."""
    pattern, facts, _ = _names(with_stated)
    found = [(m.start(), m.end(), facts[name_key(m[0])]) for m in pattern.finditer(text)]
    if with_stated:  # binding numbers keeps to the names: "my glucose peaked at 235" leads on
        return found
    asked = asked_in_words(text)
    # An asking span replaces the names inside it ("lowest my hrv" is not also the average).
    kept = [n for n in found if not any(a <= n[0] and n[1] <= b for a, b, _ in asked)]
    return sorted(kept + asked)


def _fitting(facts: tuple[str, ...], unit: str | None, value: float) -> str | None:
    """The fact among a name's facts that a number of `unit` can be (a minutes name written with
    a percentage is the share: "27 % REM sleep" is rem_pct; a count takes a small whole bare
    number: "2 hypos")."""
    for fact in facts:
        for candidate in (fact, fact.replace("_min", "_pct")):
            if candidate not in _MEASURED_FACTS:
                continue
            canonical = unit_of(candidate)
            if canonical is None and FACT_UNITS.get(candidate) == "count":
                if unit is None and value.is_integer() and 0 <= value <= MAX_COUNT:
                    return candidate
                continue
            if canonical in (None, "time"):
                continue
            if unit is None or canonical == unit:
                return candidate
    return None


def unit_written_after(text: str, end: int) -> tuple[str, float, int] | None:
    """(unit, factor, end of the unit word) for a unit the quantity scanner leaves unread after
    a number ending at `end` ("515 cals", "22 pct", "6.5 hrs"), or None."""
    for after, unit, factor in _UNIT_AFTER:
        if found := after.match(text, end):
            return unit, factor, found.end()
    return None


def stated_values(text: str) -> dict[str, float]:
    """The values the user states, by fact, in the order written: each number bound to the
    nearest name it fits."""
    from health_training.etl.stated_sums import role_of
    from health_training.ml.evaluation.faithfulness import scan_quantities

    names = named_facts(text, with_stated=True)
    only_with_unit = _names(True)[2]
    starts = [n_start for n_start, _, _ in names]
    longest = max((n_end - n_start for n_start, n_end, _ in names), default=0)
    pairs: list[tuple[int, int, int, str, float]] = []  # gap, quantity, name, fact, value
    scanned = []
    for q_start, q_end, q in scan_quantities(text):
        unit, value = ("min", q.value * 60) if q.unit == "h" else (q.unit, q.value)
        if unit is None and (found := unit_written_after(text, q_end)):
            unit, factor, q_end = found
            value *= factor
        scanned.append((q_start, q_end, unit, value))
    listed = _list_units(text, scanned)
    topics = sentence_topics(text, names, only_with_unit, scanned)
    q_starts = [q_start for q_start, _, _, _ in scanned]
    unit_of_number = {  # name index -> the quantity whose span holds it (spans do not overlap)
        ni: qi
        for ni, (n_start, n_end, _) in enumerate(names)
        if (qi := bisect_left(q_starts, n_start) - 1) >= 0 and n_end <= scanned[qi][1]
    }
    for qi, (q_start, q_end, unit, value) in enumerate(scanned):
        if unit == "time" and is_duration_clock(text, q_start, q_end):
            unit = "min"  # "deep 1:35": a clock time's value is its minutes
        if unit in ("time", "distance"):
            continue
        if unit is None and (
            is_year(text, q_start, value)
            or is_ordinal(text, q_start, q_end)
            or is_age(text, q_start, q_end)
            or PERIOD_AFTER.match(text, q_end)
            or ends_a_range(text, q_start, q_end)
        ):
            continue
        # A bound the user is set ("my endo wants time below range under 4%") is no value of
        # theirs; "Mine was 7%" after it is, and takes the measure of the sentence before.
        if _BOUND_BEFORE.search(text, max(0, q_start - 14), q_start) and _TARGET_WORDS.search(
            text, *sentence_of(text, q_start)
        ):
            continue
        mine = bool(_MINE_BEFORE.search(text, max(0, q_start - 20), q_start))
        # Only the names near the number: a long message is not every name against every number.
        lo = bisect_left(starts, q_start - _NEAR_WITH_UNIT - longest)
        hi = bisect_right(starts, q_end + _NEAR_WITH_UNIT)
        for ni in range(lo, hi):
            n_start, n_end, facts = names[ni]
            # Another number's unit word is not a name of this one: "6 h 05 min (woke at 4" is
            # no minimum of 4 (set I).
            if unit_of_number.get(ni, qi) != qi:
                continue
            # A name that overlaps the number is its unit word ("4,944 steps", "180 calories
            # burned", "7 hrs of sleep"): nearest of all.
            between = (
                ""
                if n_start < q_end and q_start < n_end
                else (text[n_end:q_start] if n_end <= q_start else text[q_end:n_start])
            )
            if SENTENCE_END.search(between) and not (
                mine and n_end <= q_start and len(SENTENCE_END.findall(between)) == 1
            ):
                continue
            # A name after its number is the number's unit word, with nothing or a word between
            # ("62% in range"); "64 mg per dl and highest was 231" gives 231 the highest.
            if n_start >= q_end and _NEXT_CLAUSE.search(between):
                continue
            if n_start <= q_start and q_end <= n_end:  # "zone 2" holds no value of zone 2
                continue
            if len(between) > (
                _NEAR_WITH_UNIT if unit is not None or _said_to_be(between, n_end <= q_start)
                else NEAR_BARE
            ):  # fmt: skip
                continue
            # A bare number follows a measure's name ("rhr 65") or is its count ("210 active
            # calories"); the words around users' numbers need a unit, the list's will do.
            if unit is None and n_start > q_start and between.strip():
                continue
            fitting_unit = unit
            if unit is None and name_key(text[n_start:n_end]) in only_with_unit:
                fitting_unit = listed.get(qi) or unit_of_topic(facts, topics(q_start))
                counts = tuple(f for f in facts if FACT_UNITS.get(f) == "count")
                if fitting_unit is None and counts and n_start >= q_end and not between.strip():
                    facts = counts  # "1 low": a whole number right before a word that counts
                elif fitting_unit is None:
                    continue
            # "peaked at", "spike to", "hr hit" lead to their number: "an average of 159 mg/dL,
            # peaked at 235" is no peak of 159.
            if n_start > q_start and _LEADS_TO_NUMBER.search(text, n_start, n_end):
                continue
            if set(facts) >= GOAL_SHARES:
                facts = goal_share(facts, scanned[:qi], topics(q_start))
            fact = _fitting(facts, fitting_unit, value)
            if fact is not None:
                # A name right before its number is as near as the number's own unit word:
                # "busiest hour 4 210 steps" is the hour's count, and "Steps 15 023" earlier in
                # the message the day's total (set L had the total take 4,210).
                gap = 0 if n_end <= q_start and not between.strip(" :=") else len(between)
                pairs.append((gap, qi, ni, fact, value))
    values: dict[str, tuple[int, float]] = {}
    bound_quantities: set[int] = set()
    bound_names: set[int] = set()
    for _, qi, ni, fact, value in sorted(pairs, key=lambda p: (p[0], p[1])):
        if qi in bound_quantities or ni in bound_names or fact in values:
            continue
        bound_quantities.add(qi)
        bound_names.add(ni)
        values[fact] = (qi, value)
    # One kcal number no word names, with no intake or burn word by it, is the day's active
    # calories: "2.1k steps 180 kcals rhr 83", "7,2k steps & 300 cals" (sets K and L).
    loose = [
        qi for qi, (_, _, u, _) in enumerate(scanned) if u == "kcal" and qi not in bound_quantities
    ]
    if "total_active_kcal" not in values and len(loose) == 1:
        q_start, q_end, _, value = scanned[loose[0]]
        if role_of(text, q_start, q_end) is None:
            values["total_active_kcal"] = (loose[0], value)
    # In the order the user wrote them: the computed line and the answer follow it.
    return {fact: value for fact, (_, value) in sorted(values.items(), key=lambda v: v[1][0])}


# "my max hr in a hill sprint was 201", "HRV the next morning was 35" (set N): a bare number
# the clause says a name before it was is as near as one with a unit.
_SAID_TO_BE = re.compile(r"\b(?:was|is|were|came in at)\s*$", re.IGNORECASE)


def _said_to_be(between: str, name_before: bool) -> bool:
    """Whether the words from a name to a bare number after it say the number is its value."""
    return (
        name_before
        and bool(_SAID_TO_BE.search(between))
        and not re.search(r"\d", between)
        and not _NEXT_CLAUSE.search(between)
    )


_BOUND_BEFORE = re.compile(
    r"(?:\b(?:under|below|above|over|less than|more than|at (?:least|most))|[<>])\s*$", re.I
)
_TARGET_WORDS = re.compile(r"\b(?:targets?|goals?|wants?|should|recommend\w*|aim\w*|keep)\b", re.I)
_MINE_BEFORE = re.compile(r"\bmine(?:'s|\s+(?:was|is|were|came in at))\s*$", re.I)


# Units a list of values may write once, after its last value: "lowest 52, highest 287, average
# 171 mg/dL" (set G; each bare number had been left unread). Not minutes, steps or shares:
# "slept 7, 45 min to fall asleep" and "avg 132, 81% in range" give no unit to the bare number.
_LIST_UNITS = frozenset({"mg/dL", "bpm", "ms"})


def _list_units(text: str, scanned: list[tuple[int, int, str | None, float]]) -> dict[int, str]:
    """The unit each bare number of a list takes from the list's next number, when only bare
    numbers stand between them in one sentence: {index in `scanned`: unit}."""
    units: dict[int, str] = {}
    bare: list[int] = []
    for qi, (q_start, _, unit, _) in enumerate(scanned):
        if bare and SENTENCE_END.search(text, scanned[bare[-1]][1], q_start):
            bare = []
        if unit is None:
            bare.append(qi)
            continue
        if unit in _LIST_UNITS:
            units |= dict.fromkeys(bare, unit)
        bare = []
    return units
