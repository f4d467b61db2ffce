"""The values a question's numbers imply, computed once and written into the model's input.

A 135M-parameter model cannot divide 107 minutes by 15 km; it can copy "7.1 min per km" from its
input. So the arithmetic is never the model's: the ETL writer appends `computed_facts(question,
context)` to the input of every question example, and the model server appends the same line,
computed by the same function, to every request before the model sees it. Both sides therefore
hand the model the same kind of input, and the derived values are also what the number guard
accepts (`ml/evaluation/grounding.py`).

What is computed (rules of `etl/derived.py`; only from numbers the *question* states, alone or
with the first values of the same unit in the context, so a pasted record does not explode into
every pair of its own figures):
  * a distance and a duration in the question: pace in min per km (and as m:ss) and speed, or
    only the one the question's words ask for ("per km", "pace"; "km/h", "speed"), per mile and
    in mph when the words ask so or the distance is in miles (`questions/computation_distance`);
  * two clock times in the question (or, when it names bedtime, wake time or time in bed
    without them, the sleep record's session): the time from the first to the second, across
    midnight;
  * calories eaten and burned (the burned from the record when the words ask for a balance):
    the energy balance, "intake 2,400 kcal, burned 2,900 kcal: deficit 500 kcal"
    (`stated_sums.py`);
  * two values of one unit, at least one from the question, when the words ask for a change
    (and two stated ones are not two different measures): the change from the first to the
    second, in the unit and in percent (a previous day against today's record), named by the
    measure the question names, whose value in the record is the one paired when the record
    holds it. A record's goal and reference values are not measurements of the day and are
    never paired: "2,100 steps to 10,000 steps" only gave the model a wrong number to copy.
  * a share the question asks for ("what fraction of my sleep was REM?", no numbers of its own)
    of a whole the record holds, as the writer computes it (`SHARES`, `derived.share_pct`):
    "28% of sleep was REM sleep: 109 min of 384 min asleep"; or of its own two numbers, "deep
    sleep 84 min of 420 min: 20%" (`stated_sums.py`);
  * the average of three or more values the question lists and asks to average, and the steps
    left to a step goal it states (`stated_series.py`, `stated_sums.steps_to_goal`);
  * when none of the above applies: each judged measure (`questions/verdicts.py`, the clinical
    thresholds) the question names or states a value of, with its value (the record's when a
    record holds it, else the user's) and the verdict clause the answers use ("time in range 19%
    is far below the 70% target (under 50%)"), and each value it names or states that no rule
    judges, with no verdict ("lowest HRV reading 22 ms", "deep sleep 48 min"); for a question
    that names a record type as a whole ("how were my calories?") that record's headline
    measure (the ones a day summary judges), for one that names nothing ("how was my day?")
    every record's. Run 7 answered
    "No, it's fine. Your time in range was 19%, at or above the 70% target": comparing 19 with
    70 is arithmetic too. And a measure or record type the question names that neither it nor
    any record holds, when nothing it names is there: "no sleep data given", so that "is my
    sleep ok?" under a step record is answered with what is missing rather than with the steps;
    a measure no record type holds ("blood pressure", "SpO2") is never given, and when the
    asking sentence names one, that is all the line says;
  * a question that asks what one record cannot give (a trend, another period, a forecast, a
    cause, a diagnosis: `asked_scope.py`) gets that alone, in place of arithmetic and verdicts.
The line is "" when nothing applies; it reads "Computed from your numbers: ...".
"""

from __future__ import annotations

import re

from health_training.etl import derived, stated_sums
from health_training.etl.computed_changes import stated_changes
from health_training.etl.computed_verdicts import HOUR_FACTS, PEAK_HOUR, judged
from health_training.etl.questions.computation_distance import PER, PER_HOUR, in_unit, unit_asked
from health_training.etl.stated_series import stated_average
from health_training.etl.stated_sums import number_text

PREFIX = "Computed from your numbers:"
# "12k steps" counts steps, not a 12 km run (a run's pace was computed from it); "9,2 km" has a
# decimal comma (set M).
DISTANCE = re.compile(
    r"(?<![\w.,])(\d+(?:\.\d+|,\d{1,2}(?!\d))?)\s?(?:(?P<km>kilomet(?:er|re)s?|km|k)|(?P<mi>miles?|mi))\b"
    r"(?!\s*(?:steps?|k?cal\w*)\b)",
    re.IGNORECASE,
)


def _minutes_text(minutes: float) -> str:
    """A run's time as the user wrote it: "58 min", "31 min 15 s" (a race time "24:10" read as
    24.2 min was written so, and the answer copied the rounding)."""
    whole, seconds = divmod(round(minutes * 60), 60)
    return f"{whole} min {seconds} s" if seconds else f"{whole} min"


def distance_value(match: re.Match[str]) -> float:
    """The length a `DISTANCE` match states, a decimal comma read as a point ("9,2 km")."""
    return float(match[1].replace(",", "."))


_TAKEN_IN = re.compile(r"\bin\s*$", re.IGNORECASE)
_ASKS_SPAN = re.compile(
    r"\bhow (?:long|much (?:sleep|time)|many (?:hours|hrs|minutes|mins))\b|\bduration\b"
    r"|\b(?:hours|hrs) of sleep\b|\bhow much did i sleep\b",
    re.IGNORECASE,
)
# The words that ask for a pace (time per distance) or a speed (distance per time).
_ASKS_PACE = re.compile(r"\bpace\b|\bper (?:km|k|kilomet(?:er|re)|mile|mi)\b"
                        r"|min(?:ute)?s? ?/ ?(?:km|mi(?:le)?)\b|/(?:km|mi)\b", re.IGNORECASE)  # fmt: skip
_ASKS_SPEED = re.compile(r"\bspeed\b|km ?/ ?h\b|\bkmh\b|\bkph\b|\bmph\b|per hour|an hour",
                         re.IGNORECASE)  # fmt: skip
# The words that ask to compare a stated value with the record's (every change phrasing of
# etl/questions/computation_phrasings.py has one; test_computed checks them all).
# "took 45 min to drop off" is falling asleep, no drop: set G's night was handed a change of
# its total sleep to its latency.
_ASKS_CHANGE = re.compile(
    r"\b(?:chang\w*|compar\w*|vs|versus|diff\w*|mov(?:e|ed)|up or down|jump\w*|before|b4|"
    r"previous|prior|yday|yesterday|last (?:week|night|time)|baseline|earlier|"
    r"how much (?:more|less|fewer|higher|lower)|by how much|drop\w*(?!\s+off)|fell|rose|"
    r"increas\w*|decreas\w*|went (?:up|down|from)|improv\w*|worsen\w*|got (?:better|worse)|"
    r"by what (?:percent(?:age)?|%))\b",  # "by what percent did i improve" (set N)
    re.IGNORECASE,
)
# The words that ask for intake against calories burned, when the record holds the burned.
_ASKS_BALANCE = re.compile(
    r"\b(?:balance|deficit|surplus|net|minus|burn\w*|under or over|more than)\b", re.I
)
# A share of a record's whole ("what fraction of my sleep was REM?"): the words that say which
# (checked in this order), the line, which leads with the share as the writer's answer does.
# Parts and wholes: etl/questions/computation_wording.SHARES.
_ASKS_SHARE = re.compile(stated_sums.ASKS_SHARE_WORDS + r"\b|%", re.I)
_SHARE_LINES: dict[str, tuple[str, str]] = {
    "deep": (r"\bdeep\b", "{pct}% of sleep was deep sleep: {part} min of {whole} min asleep"),
    "rem": (r"\brem\b", "{pct}% of sleep was REM sleep: {part} min of {whole} min asleep"),
    "asleep": (r"\basleep\b", "{pct}% of time in bed was asleep: {part} min of {whole} min in bed"),
    "steps_peak": (
        r"\b(?:busiest|most active|peak) h",
        "{pct}% of steps came in the busiest hour{hour}: {part} of {whole} steps",
    ),
    "kcal_peak": (
        r"\b(?:busiest|most active|peak) h",
        "{pct}% of active kcal came in the most active hour{hour}: {part} of {whole} kcal",
    ),
}
_JUDGED_SHARES = frozenset({"deep_pct", "rem_pct"})  # shares with a clinical rule (verdicts.py)
_MAX_PARTS = 8  # a day of four records judged, with a change or two
# A sleep record's session ("Sleep session 22:10-04:32"): the two clock times of a question that
# names bedtime, wake time or time in bed without giving them.
_SESSION = re.compile(r"Sleep session (\d\d):(\d\d)-(\d\d):(\d\d)")
_SESSION_FACTS = frozenset({"bedtime", "wake_time", "time_in_bed_min"})
_DAY_TOTALS = frozenset({"total_steps", "total_active_kcal"})


def computed_facts(question: str, context: str = "") -> str:
    """The computed line for a question (and the record it comes with), or ""."""
    from health_training.etl import measured_values as mv
    from health_training.etl import record_lines
    from health_training.etl.asked_dates import is_ordinal, names_another_day
    from health_training.etl.asked_scope import (
        LONGER_PERIOD,
        OTHER_PERIOD,
        asked_scope,
        asking_sentences,
    )
    from health_training.etl.asked_words import record_extreme
    from health_training.etl.number_context import digits_for_words, is_duration_clock
    from health_training.ml.evaluation.faithfulness import STEPS_BEFORE, scan_quantities

    question = digits_for_words(question)
    # A day of the month is no value, nor the number of a name ("zone 3": run 26's data paired
    # "what was my time in zone 3 yesterday?" into a change from 3 min).
    names_found = mv.named_facts(question)
    names = [(a, b) for a, b, _ in names_found]
    spans = [
        (start, end, q)
        for start, end, q in scan_quantities(question)
        if not is_ordinal(question, start, end)
        and not (q.unit is None and any(a <= start and end <= b for a, b in names))
    ]
    # What one record cannot give is all the line says, arithmetic or not: "do i have diabetes??
    # my avg glucose was 128 mgdl yesterday and it went up to 190" was handed the change.
    scope = asked_scope(question) or (
        OTHER_PERIOD if names_another_day(question, context) else None
    )
    # The days a user lists are all there: their week's average is no longer period (set N).
    average = stated_average(question, spans)
    if average and scope in (None, OTHER_PERIOD, LONGER_PERIOD):
        return f"{PREFIX} {average}."
    if scope:
        return f"{PREFIX} {scope}."
    asked = [q for _, _, q in spans]
    parts: list[str] = []
    # "steps=12.4k" counts steps, not a distance (a pace was computed from it, set L).
    distances = [
        d
        for d in DISTANCE.finditer(question)
        if not (d["km"] and d["km"].lower() == "k" and STEPS_BEFORE.search(question, 0, d.start()))
    ]
    # A race's name beside a measured distance is no length: "my first 5K-ish loop, the app
    # says 3.1 miles" (set K) was paced over 5 km.
    measured = [d for d in distances if not (d["km"] and d["km"].lower() == "k")]
    distance = (measured or distances or [None])[0]
    durations = [q.value * (60 if q.unit == "h" else 1) for q in asked if q.unit in ("h", "min")]
    # "5k in 22:15": after a distance, a clock-like time taken "in" is minutes and seconds.
    durations = durations or [
        q.value // 60 + q.value % 60 / 60
        for start, _, q in spans
        if q.unit == "time" and distance and _TAKEN_IN.search(question, 0, start)
    ]
    asks_pace, asks_speed = bool(_ASKS_PACE.search(question)), bool(_ASKS_SPEED.search(question))
    # A run or a ride among a day's numbers, with no pace or speed asked, is what the day held:
    # "4h12 on the bike, 112 km. avg HR 138, max 181, ... anything look off?" was given a speed
    # and no verdict, and "18 mi long run ... slept 8 hrs 10 mins" a pace from the sleep (set L).
    among_measures = not (asks_pace or asks_speed) and mv.stated_values(question)
    length_typed = distance_value(distance) if distance else 0.0
    if distance and durations and length_typed > 0 and not among_measures:
        typed, minutes = ("mi" if distance["mi"] else "km"), durations[0]
        # In the unit the words ask for, else the distance's own ("6.2 miles in 58 min, pace?"
        # asks per mile; run 19's line gave it per km).
        unit = unit_asked(question, typed)
        length = in_unit(length_typed, typed, unit)
        per, per_hour = PER[unit], PER_HOUR[unit]
        pace = (
            f"pace {derived.pace_minutes(length, minutes)} min per {per} "
            f"({derived.pace_clock(length, minutes)} per {per})"
        )
        speed = f"speed {derived.speed_per_hour(length, minutes)} {per_hour}"
        # Only what the question asks for when its words say it: given both, the model answered
        # many a pace question ("whats that per km") with the speed.
        said = (
            [pace]
            if asks_pace and not asks_speed
            else [speed]
            if asks_speed and not asks_pace
            else [pace, speed]
        )
        parts.append(
            f"{number_text(length_typed)} {typed} in {_minutes_text(minutes)}: " + ", ".join(said)
        )
    clocks = [
        int(q.value)
        for start, end, q in spans
        if q.unit == "time" and not is_duration_clock(question, start, end)
    ]
    named = [f for _, _, facts in names_found for f in facts]
    named = named or record_extreme(question, record_lines.record_types(context))
    # "How many steps were in my busiest hour?" asks the hour's count, not the day's total that
    # the unit's word names: run 26 answered set H's with the total's verdict, first in the line.
    if set(named) & HOUR_FACTS:
        named = [f for f in named if f not in _DAY_TOTALS]
    recorded = record_lines.record_values(context)
    share = None if asked else _share(question, context, recorded)
    if share:
        parts.append(share)
    session = _SESSION.search(context)
    if len(clocks) < 2 and session and set(named) & _SESSION_FACTS and not share:
        clocks = [int(session[1]) * 60 + int(session[2]), int(session[3]) * 60 + int(session[4])]
    # Three clock times are a bedtime, a time asleep and a wake time ("got into bed 22:15, fell
    # asleep ~22:40, woke up 05:50", set I): the last is the end of both spans.
    spans_of_clocks = (
        [(clocks[1], clocks[2]), (clocks[0], clocks[2])] if len(clocks) == 3 else [clocks[:2]]
    )
    # Clock times among a day's other numbers, with no duration asked, are what the day held:
    # "slept 9:30 to 2:45pm, tracker says 4h 50m asleep, 25 min awake ... rhr 67" got the span
    # alone and no verdict (set L).
    span_asked = bool(_ASKS_SPAN.search(question)) or not mv.stated_values(question)
    for begin, end in spans_of_clocks if len(clocks) >= 2 and span_asked else ():
        minutes = derived.sleep_minutes(begin, end)
        h, m = derived.hours_minutes(minutes)
        parts.append(
            f"from {begin // 60:02d}:{begin % 60:02d} to {end // 60:02d}:"
            f"{end % 60:02d}: {minutes} min ({h} h {m} min)"
        )
    balance = stated_sums.energy_balance(
        question,
        spans,
        recorded.get("total_active_kcal") if _ASKS_BALANCE.search(question) else None,
    )
    parts += [balance] if balance else []
    to_go = stated_sums.steps_to_goal(question, spans)
    parts += [to_go] if to_go else []
    asks_change = bool(_ASKS_CHANGE.search(asking_sentences(question)))
    # "Express the change from 120 to 124 mg/dl as a percentage" asks for a change (run 13's
    # line gave it "120 mg/dL of 124 mg/dL: 97%").
    own_share = (
        None if distance or balance or asks_change else stated_sums.stated_share(question, spans)
    )
    parts += [own_share] if own_share else []
    if not (distance and durations or own_share or to_go):  # a run's time is not a change
        parts += stated_changes(
            question, context, spans, named, recorded, names_found, distances,
            balance=bool(balance), asks_change=asks_change,
        )  # fmt: skip
    if not parts:  # a pace, a duration or a change is what was asked, not a verdict
        parts = judged(question, context, named, asked, recorded)
    elif parts == [share] and set(named) & _JUDGED_SHARES:
        # "Is my share of deep sleep normal?" names the judged share: its verdict too (run 11's
        # data gave these judgements the share alone).
        parts += judged(question, context, named, asked, recorded)
    return f"{PREFIX} " + "; ".join(parts[:_MAX_PARTS]) + "." if parts else ""


def _share(question: str, context: str, values: dict[str, float]) -> str | None:
    """The share a question with no numbers of its own asks for ("76 to 84 bpm as a percentage"
    asks about its own numbers), of a whole the record holds (`values`; the writer's SHARES)."""
    from health_training.etl.questions.computation_wording import SHARES

    if not _ASKS_SHARE.search(question):
        return None
    for key, (words, template) in _SHARE_LINES.items():
        part, whole = SHARES[key][:2]
        if re.search(words, question, re.IGNORECASE) and part in values and whole in values:
            hour = PEAK_HOUR.search(context)
            return template.format(
                part=number_text(values[part]),
                whole=number_text(values[whole]),
                pct=derived.share_pct(values[part], values[whole]),
                hour=f", {hour[1]}" if hour else "",
            )
    return None


def line_parts(line: str) -> list[str]:
    """The parts of a computed line (as `computed_facts` joins them), or [] for no line."""
    if not line.startswith(PREFIX):
        return []
    body = line[len(PREFIX) :].strip().rstrip(".")
    return body.split("; ") if body else []


def with_computed_facts(question: str, context: str) -> str:
    """`context` with the computed line appended (the input of a question example)."""
    line = computed_facts(question, context)
    return f"{context}\n{line}".strip() if line else context
