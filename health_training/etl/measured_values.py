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
    first, never across a sentence end;
  * `record_values(text)`: the judged facts of records in the writer's own format
    (`etl/narratives`), read by that format's words ("Time in range 70-180 mg/dL: 19%"), the
    parts of the shares questions ask for (REM minutes, the busiest hour's steps) and the other
    values a look-up names (the lowest HRV reading, the mean heart rate, GMI);
  * `record_types(text)`: the record types the text holds ("Record type: StepsRecord");
  * `named_topics(text)`: the record types a text names as a whole ("my blood sugar") and the
    measures no record type holds ("blood pressure", "SpO2").
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cache

from health_training.data.fact_vocabulary import FACT_UNITS
from health_training.etl.asked_dates import is_ordinal
from health_training.etl.asked_words import asked_in_words
from health_training.etl.questions.measures import MEASURE, MEASURES, REGISTERS
from health_training.etl.questions.quantities import unit_of
from health_training.etl.served_words import MAX_COUNT, SERVED_NAMES, SERVED_TOPICS, SERVED_WORDS

# The writer's record lines (etl/narratives): one pattern per judged fact, and the parts and
# wholes of the shares a question may ask for; group 1 is the value.
_RECORD_PATTERNS: dict[str, str] = {
    "mean_glucose_mg_dl": r"Mean glucose (\d+) mg/dL",
    "min_glucose_mg_dl": r"Mean glucose \d+ mg/dL \(range (\d+)-\d+ mg/dL\)",
    "max_glucose_mg_dl": r"Mean glucose \d+ mg/dL \(range \d+-(\d+) mg/dL\)",
    "glucose_cv_pct": r"\bCV (\d+)% \(stable",
    "time_in_range_pct": r"Time in range 70-180 mg/dL: (\d+)%",
    "time_below_range_pct": r"; below 70 mg/dL: (\d+)%",
    "time_above_range_pct": r"; above 180 mg/dL: (\d+)%",
    "resting_hr_bpm": r"Resting heart rate (\d+) bpm",
    "max_hr_bpm": r"bpm, maximum (\d+) bpm",
    "mean_rmssd_ms": r"Mean RMSSD (\d+) ms",
    "asleep_min": r"min in bed, (\d+) min asleep",
    "sleep_efficiency_pct": r"Sleep efficiency (\d+)% \(reference",
    "sleep_latency_min": r"sleep latency (\d+) min \(reference",
    "deep_pct": r"deep \d+ min \((\d+)%\)",
    "rem_pct": r"REM \d+ min \((\d+)%\)",
    "total_steps": r"Total ([\d,]+) steps against a goal",
    "total_active_kcal": r"Total active energy ([\d,]+) kcal against a goal",
    "time_in_bed_min": r"Sleep session \S+: (\d+) min in bed",
    "awake_min": r"Stages: awake (\d+) min",
    "deep_min": r"deep (\d+) min \(\d+%\)",
    "rem_min": r"REM (\d+) min \(\d+%\)",
    "peak_hour_steps": r"Most active hour \d\d:\d\d with ([\d,]+) steps",
    "peak_hour_kcal": r"Peak hour \d\d:\d\d with ([\d,]+) kcal",
    # The record's other values a look-up names ("the lowest my HRV got"): no verdict, the value.
    "min_rmssd_ms": r"Mean RMSSD \d+ ms \(lowest (\d+) ms",
    "max_rmssd_ms": r"Mean RMSSD \d+ ms \(lowest \d+ ms at \d\d:\d\d, highest (\d+) ms",
    "mean_hr_bpm": r"Resting heart rate \d+ bpm \([^)]*\), mean (\d+) bpm",
    "gmi_pct": r"Glucose management indicator \(GMI\) (\d+(?:\.\d)?)%",
    "hypoglycemic_events": r"Hypoglycemic events \([^)]*\): (\d+)",
    "hyperglycemic_events": r"Hyperglycemic events \([^)]*\): (\d+)",
    **{f"zone{z}_min": rf"\bzone {z} (\d+) min" for z in range(1, 6)},
    "steps_pct_of_goal": r"against a goal of [\d,]+ steps \((\d+)% of goal\)",
    "kcal_pct_of_goal": r"against a goal of [\d,]+ kcal \((\d+)% of goal\)",
}
_RECORD_TYPE = re.compile(r"Record type: (\w+Record)\b")
_SENTENCE_END = re.compile(r"[.?!](?:\s|$)|\n")
_NEXT_CLAUSE = re.compile(r"[,;]|\b(?:and|but|while)\b", re.IGNORECASE)
_NEAR_WITH_UNIT = 40  # characters between a number with a unit and the name it belongs to
_ARTICLE = re.compile(r"^(?:an?|the)\s+|\s+of$")  # "a low of {v}" -> "low"
# Units the quantity scanner leaves unread ("22 pct", "515 cals", "6.5 hrs"): unit, factor.
_UNIT_AFTER = (
    (re.compile(r"\s*(?:pct|percent)\b", re.IGNORECASE), "%", 1.0),
    (re.compile(r"\s*(?:active\s+)?(?:cals?|calories|kcal)\b", re.IGNORECASE), "kcal", 1.0),
    (re.compile(r"\s*(?:hrs?|hours?)\b", re.IGNORECASE), "min", 60.0),
    (re.compile(r"\s*mg per dL\b", re.IGNORECASE), "mg/dL", 1.0),
    (re.compile(r"\s*(?:km|k|kilomet(?:er|re)s?|mi|miles?)\b", re.IGNORECASE), "distance", 1.0),
)
_NEAR_BARE = 20  # a bare number ("resting pulse 66") must sit right by its name
# A bare number that counts days ("my average the last 2 weeks was 148 mg/dl" read as 2 mg/dL)
# or ends a range the user defines ("time in range (70-180) was 58%" read as 70%) is no value.
PERIOD_AFTER = re.compile(r"\s*-?\s*(?:days?|nights?|weeks?|months?|years?)\b", re.IGNORECASE)
# A year ("Q4-2024 vs Q1-2025", "in spring 2024") is no value: read as mg/dL, run 21's line
# handed "Q4-2024 vs Q1-2025" a change of +1 mg/dL.
_YEAR_BEFORE = re.compile(
    r"(?:\bQ[1-4]\s*[-/]?\s*|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+"
    r"|\b(?:in|since|spring|summer|autumn|fall|winter|year)\s+)$",
    re.IGNORECASE,
)


def is_year(text: str, start: int, value: float) -> bool:
    """Whether the bare number at `start` is a year by the words before it."""
    return 1900 <= value <= 2100 and bool(_YEAR_BEFORE.search(text, max(0, start - 12), start))


# An age ("I'm 47", "im 34 and pretty fit", "a 29 year old") is no value: set I's "max hr hit
# 201 ..., im 34" was handed a change from 201 to 34 bpm.
_AGE_BEFORE = re.compile(r"\b(?:i'?m|i am|age|aged)\s*$", re.IGNORECASE)
_AGE_AFTER = re.compile(r"\s*(?:-\s*)?(?:years?|yrs?)(?:\s*-\s*|\s+)old\b|\s*(?:yo|y/o)\b", re.I)


def ends_a_range(text: str, start: int, end: int) -> bool:
    """Whether the bare number at text[start:end] is an end of a range the user writes ("time in
    range 70-180 went from 58% to 71%": a definition, no value)."""
    return bool(_RANGE_NEXT.match(text, end) or _RANGE_PREV.search(text, max(0, start - 8), start))


def is_age(text: str, start: int, end: int) -> bool:
    """Whether the bare number at text[start:end] is the user's age by the words around it."""
    return bool(_AGE_BEFORE.search(text, max(0, start - 8), start) or _AGE_AFTER.match(text, end))


_LEADS_TO_NUMBER = re.compile(r"\b(?:at|to|hit)$", re.IGNORECASE)
_RANGE_NEXT = re.compile(r"\s*[-\u2013]\s*\d")  # "70-": the first end of a range
_RANGE_PREV = re.compile(r"\d\s*[-\u2013]\s*$")  # "-180": the second
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
        fact_list = facts.setdefault(_key(name), [])
        if fact not in fact_list:
            fact_list.append(fact)
    alternation = "|".join(_spaced(n) for n in sorted(facts, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w%])(?:{alternation})(?![\w%])", re.IGNORECASE)
    measure_names = {_key(n) for m in MEASURES for r in REGISTERS for n in m.names(r)}
    bare_binding = measure_names | {_key(n) for _, n in SERVED_NAMES}
    return (
        pattern,
        {name: tuple(found) for name, found in facts.items()},
        frozenset(facts) - bare_binding,
    )


def _spaced(name: str) -> str:
    """A name's pattern: a space in it may be a hyphen too ("peak heart-rate"), never a line
    break ("Sleep\nTime in bed" is two lines of an app's export)."""
    return r"[ \t-]".join(re.escape(word) for word in name.split(" "))


def _key(name: str) -> str:
    """A name as written, as `_names` keys it: lower case, a hyphen or any space one space."""
    return re.sub(r"[ \t-]", " ", name.lower())


def named_facts(text: str, with_stated: bool = False) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, facts) of every measure name in `text`, in order; without `with_stated`
    (what a question asks about) also an extreme apart from its measure and "below 70"."""
    pattern, facts, _ = _names(with_stated)
    found = [(m.start(), m.end(), facts[_key(m[0])]) for m in pattern.finditer(text)]
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
    topics = _sentence_topics(text, names, only_with_unit, scanned)
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
            if _SENTENCE_END.search(between):
                continue
            # A name after its number is the number's unit word, with nothing or a word between
            # ("62% in range"); "64 mg per dl and highest was 231" gives 231 the highest.
            if n_start >= q_end and _NEXT_CLAUSE.search(between):
                continue
            if n_start <= q_start and q_end <= n_end:  # "zone 2" holds no value of zone 2
                continue
            if len(between) > (_NEAR_BARE if unit is None else _NEAR_WITH_UNIT):
                continue
            # A bare number follows a measure's name ("rhr 65") or is its count ("210 active
            # calories"); the words around users' numbers need a unit, the list's will do.
            if unit is None and n_start > q_start and between.strip():
                continue
            fitting_unit = unit
            if unit is None and _key(text[n_start:n_end]) in only_with_unit:
                fitting_unit = listed.get(qi) or _unit_of_topic(facts, topics(q_start))
                if fitting_unit is None:
                    continue
            # "peaked at", "spike to", "hr hit" lead to their number: "an average of 159 mg/dL,
            # peaked at 235" is no peak of 159.
            if n_start > q_start and _LEADS_TO_NUMBER.search(text, n_start, n_end):
                continue
            if set(facts) >= _GOAL_SHARES:
                facts = _goal_share(facts, scanned[:qi], topics(q_start))
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
    # In the order the user wrote them: the computed line and the answer follow it.
    return {fact: value for fact, (_, value) in sorted(values.items(), key=lambda v: v[1][0])}


# Units a list of values may write once, after its last value: "lowest 52, highest 287, average
# 171 mg/dL" (set G; each bare number had been left unread). Not minutes, steps or shares:
# "slept 7, 45 min to fall asleep" and "avg 132, 81% in range" give no unit to the bare number.
_LIST_UNITS = frozenset({"mg/dL", "bpm", "ms"})


# A clock-like time right after a sleep measure is a duration ("deep 1:35, REM 2:02", "sleep
# 7:48 | deep 64"): set L's were read as a span from 01:35 to 02:02.
_DURATION_NAME_BEFORE = re.compile(
    r"\b(?:deep|rem|light|core|(?<!to )sleep|awake|total|tst)\s*[:=]?\s*$", re.I
)
_HOURS_MINUTES = re.compile(r"([1-9]\d?):[0-5]\d")  # no leading zero, no am/pm
_SPAN_NEXT = re.compile(r"\s*(?:to|till|until|-|\u2013)\s*\d", re.IGNORECASE)  # "23:40 to 6:50"
_MAX_DURATION_HOURS = 16  # no night's sleep, nor any stage of it, is longer


def is_duration_clock(text: str, start: int, end: int) -> bool:
    """Is the clock-like time at `start`:`end` a sleep measure's hours and minutes ("deep 1:35")
    rather than a clock time ("asleep 23:40 to 6:50", "11:55 pm", "01:35", "at midnight")?"""
    hours = _HOURS_MINUTES.fullmatch(text, start, end)
    return bool(
        hours
        and int(hours[1]) < _MAX_DURATION_HOURS
        and _DURATION_NAME_BEFORE.search(text, 0, start)
        and not _SPAN_NEXT.match(text, end)
    )


_GOAL_SHARES = frozenset({"steps_pct_of_goal", "kcal_pct_of_goal"})
_GOAL_SHARE_OF = {"steps": "steps_pct_of_goal", "kcal": "kcal_pct_of_goal"}
_GOAL_SHARE_OF_TYPE = {MEASURE[f].record_type: f for f in sorted(_GOAL_SHARES)}


def _goal_share(facts: tuple[str, ...], before: list, topics: set[str]) -> tuple[str, ...]:
    """Of "% of my goal"'s facts, the share of the nearest total before it (steps or kcal), else
    of the one of the two its sentence is about."""
    for _, _, unit, _ in reversed(before):
        if unit in _GOAL_SHARE_OF:
            return (_GOAL_SHARE_OF[unit],)
    about = [f for t, f in _GOAL_SHARE_OF_TYPE.items() if t in topics]
    return tuple(about) if len(about) == 1 else ()  # no share rather than the wrong one


def _list_units(text: str, scanned: list[tuple[int, int, str | None, float]]) -> dict[int, str]:
    """The unit each bare number of a list takes from the list's next number, when only bare
    numbers stand between them in one sentence: {index in `scanned`: unit}."""
    units: dict[int, str] = {}
    bare: list[int] = []
    for qi, (q_start, _, unit, _) in enumerate(scanned):
        if bare and _SENTENCE_END.search(text, scanned[bare[-1]][1], q_start):
            bare = []
        if unit is None:
            bare.append(qi)
            continue
        if unit in _LIST_UNITS:
            units |= dict.fromkeys(bare, unit)
        bare = []
    return units


# The record type a number of a unit belongs to, where only one has that unit.
_TYPE_OF_UNIT = {
    "mg/dL": "BloodGlucoseRecord",
    "bpm": "HeartRateRecord",
    "ms": "HeartRateVariabilityRmssdRecord",
}


def _sentence_topics(text: str, names: list, only_with_unit: frozenset[str], scanned: list):
    """A function from a position to the record types its sentence is about: those its measure
    names, whole-type names ("blood sugar") and units ("38 ms") hold."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]

    def sentence(at: int) -> tuple[int, int]:
        i = bisect_right(ends, at)
        return (ends[i - 1] if i else 0), (ends[i] if i < len(ends) else len(text))

    @cache
    def of_sentence(lo: int, hi: int) -> set[str]:
        found = {
            MEASURE[f].record_type
            for start, end, facts in names
            if lo <= start and end <= hi and _key(text[start:end]) not in only_with_unit
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
    return re.compile(rf"\b(?:{'|'.join(map(_spaced, words))})\b", re.IGNORECASE)


def _unit_of_topic(facts: tuple[str, ...], topics: set[str]) -> str | None:
    """The unit a bare number takes beside a word that needs one ("avg 178" after "Dexcom", "lowest
    12" after "hrv"): that of the word's facts of the sentence's record types, when one."""
    units = {unit_of(f) for f in facts if f in MEASURE and MEASURE[f].record_type in topics}
    return units.pop() if len(units) == 1 else None


def record_values(text: str) -> dict[str, float]:
    """The judged facts, the share parts and the other named values of the writer's records in
    `text` (the first record of a type wins)."""
    values: dict[str, float] = {}
    for fact, pattern in _RECORD_PATTERNS.items():
        found = re.search(pattern, text)
        if found:
            values[fact] = float(found[1].replace(",", ""))
    return values


_WEIGHT_UNITS = ("kg", "kgs", "kilos", "kilograms", "lb", "lbs", "pounds")
_NUMBER_BEFORE = re.compile(r"\d\s*$")
# Weight as the user's aim, not a value asked for: "trying to lose weight, is 8,000 steps
# enough?" got "no body weight data given" beside the steps' verdict, and an answer that
# declined. "Did I lose weight?" and "how much weight have I lost?" still ask for it.
_WEIGHT_AIM = re.compile(
    r"\b(?:to|help me)\s+(?:lose|drop|shed|gain|put\s+on)\s+(?:some\s+|a\s+bit\s+of\s+)?weight\b"
    r"|\bfor\s+weight[- ](?:loss|gain)\b",
    re.IGNORECASE,
)


@cache
def _topics() -> tuple[re.Pattern[str], dict[str, tuple[str | None, str]]]:
    """How users name a whole record type ("my blood sugar") and the measures no record type
    holds ("blood pressure"): lower-cased name -> (record type or None, the answer's name)."""
    from health_training.etl.questions.measures import RECORD_TOPIC
    from health_training.etl.questions.unanswerable_phrasings import MISSING

    found: dict[str, tuple[str | None, str]] = {}
    for record_type, names in RECORD_TOPIC.items():
        for name in names:
            found[name.lower()] = (record_type, names[0])
    for name, answer_name, holders in MISSING:
        if not holders:
            found[name.lower()] = (None, answer_name)
    # A weight asked in its unit is body weight: "how many kg have I lost?" under a step count
    # (set E) was answered with the steps' verdict.
    for unit in _WEIGHT_UNITS:
        found.setdefault(unit, (None, "body weight"))
    alternation = "|".join(re.escape(n) for n in sorted(found, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE), found


def named_topics(text: str) -> list[tuple[str | None, str]]:
    """(record type, name) of every record type or untracked measure `text` names, in order;
    the record type is None for a measure no record holds ("blood pressure")."""
    pattern, found = _topics()
    return [
        found[m[0].lower()]
        for m in pattern.finditer(text)
        # "I weigh 80 kg" gives the weight; "how many kg" asks it.
        if not (m[0].lower() in _WEIGHT_UNITS and _NUMBER_BEFORE.search(text, 0, m.start()))
        and not (m[0].lower() == "weight" and _is_aim(text, m.start(), m.end()))
    ]


def _is_aim(text: str, start: int, end: int) -> bool:
    """Is the "weight" at `start`:`end` part of an aim ("to lose weight", "for weight loss")?"""
    return any(m.start() <= start and end <= m.end() for m in _WEIGHT_AIM.finditer(text))


def record_types(text: str) -> set[str]:
    return set(_RECORD_TYPE.findall(text))
