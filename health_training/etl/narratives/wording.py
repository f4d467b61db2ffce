"""What the narrative templates share: the `Text` they build, counts, clock times, the disclaimer."""

from __future__ import annotations

from dataclasses import dataclass

# What a record type's template returns: facts for `input`, ranked sentences for `output`, and the
# insight to record when there is no finding.
NarrativeParts = tuple[list[str], list[tuple[int, str]], str]

DISCLAIMER = (
    "This interpretation is based on consumer wearable data and does not replace "
    "assessment by a clinician."
)


@dataclass(frozen=True, slots=True)
class Text:
    facts: list[str]  # sentences of `input`
    narrative: list[tuple[int, str]]  # (rank: 0 keep, higher is dropped first, sentence)
    default_insight: str  # for clinical_insights when there is no finding


def plural(count: int, noun: str) -> str:
    """ "1 event", "2 events"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def clock(minute: int) -> str:
    """Minutes after midnight as HH:MM; past 24:00 reads as the next day's clock."""
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"
