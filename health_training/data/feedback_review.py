"""Whose ratings count, and how much: raters, their share, and what the preference stage may use.
Pure: rows and trust levels in, counts and rows out (the store and the sensor do the I/O).

- A *rater* is the API key that posted a rating. A key an admin trusted (level >= 1) speaks for
  many people, so each of its user pseudonyms is a rater of its own; an untrusted key is one
  rater however many `user` values it sends (it can invent them). A row an operator imported
  (no key: `feedback import`, `feedback add`) counts as its own rater: the operator vouches
  for the file.
- A rater's *share* is `max_per_rater` ratings: beyond it, a burst from one rater is ignored by
  the feedback sensor, and the skip reason says how many ratings that was.
- The preference stage learns only from rows of trusted keys and operator imports, and a row's
  correction only once a reviewer approved it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from health_training.data.feedback import APPROVED, StoredFeedback

TRUSTED = 1  # the lowest trust level whose ratings train


def rater_of(row_id: int, key_id: str | None, user: str | None, trust: Mapping[str, int]) -> str:
    if key_id is None:
        return f"row:{row_id}"
    if trust.get(key_id, 0) >= TRUSTED:
        return f"key:{key_id}/user:{user or '-'}"
    return f"key:{key_id}"


@dataclass(frozen=True, slots=True)
class Share:
    """Ratings counted after each rater's share, and what was ignored beyond it."""

    counted: int
    ignored: int
    raters: int
    over: frozenset[str]  # raters who went beyond their share


def capped(
    raters: Iterable[str], cap: int, already: Mapping[str, int] | None = None
) -> tuple[Share, dict[str, int]]:
    """Count one per item, at most `cap` per rater (counting `already`); the share and the
    new per-rater totals."""
    totals = Counter(dict(already or {}))
    counted = ignored = 0
    over: set[str] = set()
    for rater in raters:
        if totals[rater] < cap:
            totals[rater] += 1
            counted += 1
        else:
            ignored += 1
            over.add(rater)
    return Share(counted, ignored, len(totals), frozenset(over)), dict(totals)


def window_average(
    newest_first: Sequence[tuple[Any, ...]], cap: int, trust: Mapping[str, int]
) -> tuple[float | None, int, int]:
    """(average, ratings counted, ratings ignored) of a window of (id, key_id, user, rating,
    corrected) tuples, newest first: each rater's newest `cap` ratings count."""
    seen: Counter[str] = Counter()
    ratings, ignored = [], 0
    for row_id, key_id, user, rating, _ in newest_first:
        rater = rater_of(row_id, key_id, user, trust)
        if seen[rater] >= cap:
            ignored += 1
            continue
        seen[rater] += 1
        ratings.append(rating)
    average = sum(ratings) / len(ratings) if ratings else None
    return average, len(ratings), ignored


def preference_rows(
    rows: Iterable[StoredFeedback], trust: Mapping[str, int]
) -> list[StoredFeedback]:
    """The rows a preference stage may learn from: trusted keys' and operator imports', with a
    correction kept only when approved."""
    out = []
    for row in rows:
        if row.key_id is not None and trust.get(row.key_id, 0) < TRUSTED:
            continue
        if row.corrected_response is not None and row.review_status != APPROVED:
            row = replace(row, corrected_response=None)
        out.append(row)
    return out
