"""The changes a question asks about: two values of one measure, the user's own or one of
theirs against the record's ("my resting hr was 64 bpm two weeks ago and its 57 now", "a prior
mean RMSSD of 39 ms" against the record's mean), as the computed line states them ("resting
heart rate 57 bpm, down from 64 bpm: a drop of 7 bpm (11%)"). Only when the words ask for a
change; never between values of different measures, a threshold, a range's ends, a year, an age
or a race's distance.
"""

from __future__ import annotations

import re
from collections import Counter

from health_training.etl import derived
from health_training.etl.measured_values import NEAR_BARE, stated_values
from health_training.etl.number_context import PERIOD_AFTER, ends_a_range, is_age, is_year
from health_training.etl.questions.computation_wording import change_words
from health_training.etl.stated_sums import paired_unit, with_unit

_PAIRED_UNITS = ("mg/dL", "bpm", "ms", "%", "steps", "kcal", "min")
_MAX_VALUES = 8  # a message of thousands of numbers: pairs stay bounded
_CONTEXT_VALUES = 2  # first measured values of a unit in the context paired with the question's
_GOAL_BEFORE = re.compile(r"\bgoal of\s*$")
# A question's threshold or target is no value of a change: "how much time was I below 70
# yesterday" paired 70 with the record's 6%, "under 70 mg/dl compared to the 4% target" 70 mg/dL
# with the mean glucose. Narrower than the evaluation's reference-point words
# (`statements.COMPARED_BEFORE`): "how much higher than 40 ms yesterday" names a value.
_THRESHOLD_BEFORE = re.compile(r"(?:\b(?:below|under|above|over)|[<>])\s*$", re.IGNORECASE)
_THRESHOLD_AFTER = re.compile(r"\s*(?:mg/dl\s*)?(?:target|goal|threshold|cut-?off)\b", re.I)
_REFERENCE = re.compile(r"\bReference:.*?(?:\.(?=\s|$)|$)", re.DOTALL)  # to its sentence's end
_GLUED_WORD = re.compile(r"[a-z]", re.IGNORECASE)  # "18u" of insulin: a number of another unit
_CLAUSE_BREAK = re.compile(r"[,;.!?]|\b(?:and|but)\b", re.IGNORECASE)


def stated_changes(
    question: str,
    context: str,
    spans: list,
    named: list[str],
    recorded: dict[str, float],
    names_found: list,
    distances: list,
    *,
    balance: bool,
    asks_change: bool,
) -> list[str]:
    """The line's change parts for `question` (`spans`: its quantities, `named`: the facts it
    names, `recorded`: the record's values, `names_found`: where it names them, `distances`: its
    distances), and none unless `asks_change`."""
    from health_training.etl.questions.measures import MEASURE
    from health_training.etl.questions.quantities import unit_of

    out: list[str] = []
    asked = [q for _, _, q in spans]
    found = _measured(context)
    # Two stated values of different measures are no change, whatever the words: "201 mg/dl
    # on average and a peak of 312 mg/dL yesterday" (run 13's line: "+111 mg/dL (+55%)").
    measures_stated: dict[str | None, set[str]] = {}
    for fact in stated_values(question) if asks_change else ():
        measures_stated.setdefault(paired_unit(unit_of(fact)), set()).add(fact)
    # The measure the question names, as the record holds it: "a prior mean RMSSD of 39 ms"
    # pairs with the record's mean (47 ms), not its lowest reading; a previous night's total
    # sleep with the night's sleep, not its time in bed (run 8 copied that pair).
    subject = {unit_of(f): MEASURE[f].subject for f in named if f in MEASURE}
    own = {unit_of(f): recorded[f] for f in named if f in recorded}
    # Bare numbers are the one measure named: "steps were 7,500 on Monday and 9,000 on
    # Tuesday" (run 12 judged the first and refused the question); not beside a number with
    # a unit ("training for a 10k. 93% sleep efficiency last night" is no change, run 14).
    # With a unit written once: "64 bpm last month and this month its 59" (set I).
    # Of several measures named, the one stated with a number: "resting heart rate was 64
    # bpm two weeks ago and its 57 now since I started zone 2 training" (set K).
    named_units = {paired_unit(u) for u in subject}
    stated_units = set(measures_stated) & named_units
    only = named_units if len(named_units) == 1 else stated_units
    bare = (
        next(iter(only))
        if len(only) == 1 and {paired_unit(q.unit) for q in asked if q.unit} <= only
        else None
    )
    # Then a bare number right after another measure's name is that measure's: "maximum HR
    # 88 and mean RMSSD 46 milliseconds" has no HRV of 88 ms.
    others = [
        end
        for _, end, facts in names_found
        if len(named_units) > 1 and not {paired_unit(unit_of(f)) for f in facts} & only
    ]
    with_its_unit = Counter(paired_unit(q.unit) for q in asked if q.unit)
    for unit in _PAIRED_UNITS if not balance else [u for u in _PAIRED_UNITS if u != "kcal"]:
        mine = [
            q.value
            for start, end, q in spans
            if paired_unit(q.unit or (None if PERIOD_AFTER.match(question, end) else bare)) == unit
            and not (q.unit is None and _follows(question, start, others))
            # With the unit on two of its values a bare number is something else: "from 154
            # mg/dl to 138 mg/dl after we changed his basal from 18u to 16u" (set M).
            and not (q.unit is None and with_its_unit.get(unit, 0) >= 2)
            and not (q.unit is None and _GLUED_WORD.match(question, end))
            # A race's distance is none of them: "training for a 10k. 359 cals ...
            # yesterday" was handed a change from 10 kcal (freeform_test, run 23).
            and not any(m.start() <= start < m.end() for m in distances)
            and q.value >= 0
            and not _THRESHOLD_BEFORE.search(question, max(0, start - 12), start)
            and not (q.unit is None and is_year(question, start, q.value))
            and not (q.unit is None and is_age(question, start, end))
            # A range is a bound, not a value: "coach says max 20-25 min" (set M)
            and not ends_a_range(question, start, end)
            and not _THRESHOLD_AFTER.match(question, end)
        ]
        mine = mine[:_MAX_VALUES]  # a message of thousands of numbers: pairs stay bounded
        theirs = (
            [own[unit]]
            if unit in own
            else [q.value for q in found if paired_unit(q.unit) == unit][:_CONTEXT_VALUES]
        )
        # Only when the words ask: "mean 128 mg/dl, highest 262 mg/dl" is no change (run 12
        # was handed "+113 mg/dL (+76%)" for it and answered with that).
        pairs = [(a, b) for a in mine for b in theirs]
        if len(measures_stated.get(unit, ())) < 2:
            pairs = [(a, b) for i, a in enumerate(mine) for b in mine[i + 1 :]] + pairs
        pairs = pairs if asks_change else []
        for before, after in dict.fromkeys(pairs):
            if before == after:
                continue
            # In the answer's own order and words ("51 bpm, down from 52 bpm, a drop of
            # 1 bpm or 2%"): from "52 bpm to 51 bpm: change -1 bpm (-2%)" run 26 wrote 9 of
            # freeform_test's changes backwards ("51 bpm, up from 52 bpm"), the value right.
            change = derived.change(before, after)
            direction, noun = change_words(change)
            line = f"{subject[unit]} " if unit in subject else ""
            line += f"{with_unit(after, unit)}, {direction} from {with_unit(before, unit)}: "
            line += f"{noun} of {with_unit(abs(change), unit)}"
            if before and unit != "%":
                line += f" ({abs(derived.percent_change(before, after))}%)"
            out.append(line)
    return out


def _follows(text: str, start: int, name_ends: list[int]) -> bool:
    """Does the number at `start` follow one of the names ending at `name_ends` in its clause?"""
    return any(
        0 <= start - end <= NEAR_BARE and not _CLAUSE_BREAK.search(text, end, start)
        for end in name_ends
    )


def _measured(context: str) -> list:
    """The context's quantities less its goals ("against a goal of 500 kcal") and its reference
    sentences ("Reference: under 40% of goal is low")."""
    from health_training.ml.evaluation.faithfulness import scan_quantities

    reference = [m.span() for m in _REFERENCE.finditer(context)]
    return [
        q
        for start, _, q in scan_quantities(context)
        if not _GOAL_BEFORE.search(context[:start])
        and not any(a <= start < b for a, b in reference)
    ]
