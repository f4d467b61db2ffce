"""The average of values a user lists and asks to average: "hrv this week (whoop): mon 41 tue 38
wed 45 thu 52 fri 36 sat 40 sun 47 - whats my weekly avg", "Fasting readings Mon-Fri were 104,
98, 112, 101 and 109 mg/dL. What's my average?" (set N, development: the first was told that more
days were asked about than the one given, the second got no line, and the model guessed).

The days are the user's own, so a week is no longer period than the data: the values are all
there. A list is three or more numbers with nothing but separators or day names between them,
of one unit (a bare number takes the list's unit, or the unit of the measure named before the
list), in the question's words. Written as "average 43 ms of 7 values (41, 38, ... ms)", the
answer's number first in the line, as every computation is (`computed.py`).
"""

from __future__ import annotations

import re

from health_training.etl.stated_sums import number_text, with_unit

_ASKS_AVERAGE = re.compile(r"\b(?:avg|average|mean)\b", re.IGNORECASE)
# What may stand between two listed values: commas, "and", a day's name ("mon 41 tue 38").
_LIST_GAP = re.compile(
    r"[\s,;/&+|]*(?:and\s+)?(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s*[:=]?\s*)?",
    re.IGNORECASE,
)
_LEAST_VALUES = 3
_MOST_LISTED = 31  # a month of days; a longer list is averaged, not written out again
_UNLISTED = frozenset({"time", "date", "h"})  # clock times, dates and hours are no readings


def stated_average(question: str, spans: list) -> str | None:
    """ "average 105 mg/dL of 5 values (104, 98, 112, 101 and 109 mg/dL)" when the question asks
    for an average and lists the values (`spans`: its quantities, ordinals removed), else None."""
    from health_training.etl import measured_values as mv
    from health_training.etl.questions.quantities import unit_of

    if not _ASKS_AVERAGE.search(question):
        return None
    run = _longest_list(question, spans)
    if len(run) < _LEAST_VALUES:
        return None
    units = {q.unit for _, _, q in run} - {None}
    if len(units) > 1 or units & _UNLISTED:
        return None
    unit = next(iter(units), None)
    if unit is None:  # the measure named last before the list: "hrv this week: mon 41 ..."
        before = [f for start, _, facts in mv.named_facts(question) if start < run[0][0]
                  for f in facts]  # fmt: skip
        unit = unit_of(before[-1]) if before else None
        unit = unit if unit not in (None, "time") else None
    values = [q.value for _, _, q in run]
    mean = sum(values) / len(values)
    whole = all(v.is_integer() for v in values)
    mean = float(int(mean + 0.5)) if whole else round(mean, 1)  # half up, as people round
    said = (lambda x: with_unit(x, unit)) if unit else number_text
    # The average first, as the model copies a line's first value: "average of 41, ...: 43 ms"
    # was answered "Your average was 41, 38, 45, 52, 36, 40 and 47 ms" (set N).
    line = f"average {said(mean)} of {number_text(len(values))} values"
    if len(values) > _MOST_LISTED:  # a hostile list of thousands must not double the prompt
        return line
    listed = ", ".join(number_text(v) for v in values[:-1]) + f" and {number_text(values[-1])}"
    suffix = "" if unit is None else "%" if unit == "%" else f" {unit}"
    return f"{line} ({listed}{suffix})"


def _longest_list(question: str, spans: list) -> list:
    """The longest run of quantities with only list separators between them."""
    best: list = []
    run: list = []
    for span in spans:
        if run and not _LIST_GAP.fullmatch(question, run[-1][1], span[0]):
            run = []
        run.append(span)
        if len(run) > len(best):
            best = list(run)
    return best
