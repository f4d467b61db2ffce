"""What the words around a number say it is when it carries no unit: a year, an age, a count of
days, an end of a range the user defines (none of them a measured value), or a sleep measure's
hours and minutes written like a clock time ("deep 1:35")."""

from __future__ import annotations

import re

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


_RANGE_NEXT = re.compile(r"\s*[-\u2013]\s*\d")  # "70-": the first end of a range
_RANGE_PREV = re.compile(r"\d\s*[-\u2013]\s*$")  # "-180": the second


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


def digits_for_words(text: str) -> str:
    """`text` with its number words written as digits ("slept five and a half hrs", "is seven and
    a half hours of sleep enough?": set N's nights were read as no sleep at all), by text2num's
    English reader; "one" and "two" alone stay words ("one day", "zone two")."""
    from text_to_num import alpha2digit

    return alpha2digit(text, "en")
