"""Calendar days a question names, read against the days its records cover.

Set H (development) asked "Could you tell me my time in range for June 25th?" under the record of
June 26th, and "how much deep sleep did i get ... the 10th?" under another night: run 25's line
read "25th" as 25 % and "10th" as 10 min and handed the model a change from them. A day of the
month is no value, and a day the records do not cover is another period (`asked_scope.py`).
"""

from __future__ import annotations

import re

ORDINAL = re.compile(r"\d\s*(?:st|nd|rd|th)$", re.IGNORECASE)  # a scanned "25th"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_DAY = r"[0-3]?\d(?:st|nd|rd|th)?"
_ORDINAL_DAY = r"[0-3]?\d(?:st|nd|rd|th)"  # "10 may" may be a verb's; "10th may" not
_NAMED_DAY = re.compile(
    rf"\b(?:(?P<month>{_MONTH})\s+(?P<day>{_DAY})|(?P<day2>{_ORDINAL_DAY})\s+(?:of\s+)?(?P<month2>{_MONTH})"
    r"|the\s+(?P<ordinal>[0-3]?\d(?:st|nd|rd|th)))\b",
    re.IGNORECASE,
)
_ISO_DAY = re.compile(r"\b\d{4}-(\d\d)-(\d\d)\b")
_RECORD_DAY = re.compile(r"\b(?:Date|Night): \d{4}-(\d\d)-(\d\d)\b")


def is_ordinal(text: str, start: int, end: int) -> bool:
    """Whether the number scanned at text[start:end] is a day of the month ("the 10th")."""
    return bool(ORDINAL.search(text, start, end))


def named_days(question: str) -> list[tuple[int | None, int]]:
    """(month or None, day) of each calendar day the question names."""
    days: list[tuple[int | None, int]] = []
    for found in _NAMED_DAY.finditer(question):
        month = found["month"] or found["month2"]
        day = int(re.sub(r"\D", "", found["day"] or found["day2"] or found["ordinal"]))
        if 1 <= day <= 31:
            days.append((_MONTHS.index(month[:3].lower()) + 1 if month else None, day))
    days += [(int(m[1]), int(m[2])) for m in _ISO_DAY.finditer(question)]
    return days


def names_another_day(question: str, context: str) -> bool:
    """Whether the question names a day none of the records in `context` covers (a night's
    record covers the day it starts and the morning after)."""
    covered: set[tuple[int, int]] = set()
    for month, day in ((int(m[1]), int(m[2])) for m in _RECORD_DAY.finditer(context)):
        covered |= {(month, day), (month, day + 1)} if "Night:" in context else {(month, day)}
    if not covered:
        return False
    return any(
        not any(d == day and (month is None or m == month) for m, d in covered)
        for month, day in named_days(question)
    )
