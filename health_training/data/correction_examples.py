"""Corrections as training examples: answers rated `CORRECTION_MAX_RATING` or lower whose correction
an admin approved become instruction examples (`feedback_examples`), each filed under the health
domain its question names (`category_for_query`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from health_training.data.feedback import (
    APPROVED,
    CORRECTION_MAX_RATING,
    Pseudonymize,
    StoredFeedback,
)
from health_training.data.phi import Pseudonymizer, scrub_phi
from health_training.data.records import Example, content_key

# Checked in order; the query must name exactly one domain, else it is general_health.
_DOMAIN_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("metabolic_diabetes", re.compile(r"\b(?:glucose|blood sugar|cgm)\b", re.I)),
    ("autonomic_health", re.compile(r"\b(?:hrv|rmssd|heart[- ]rate[- ]variability)\b", re.I)),
    ("cardiovascular_fitness", re.compile(r"\b(?:heart[- ]rate|pulse|bpm)\b(?![- ]variab)", re.I)),
    ("sleep_recovery", re.compile(r"\b(?:sleep\w*|slept|nap)\b", re.I)),
    ("physical_activity", re.compile(r"\b(?:steps?|step count|walk\w*)\b", re.I)),
    ("energy_metabolism", re.compile(r"\b(?:calories|calorie|kcal)\b", re.I)),
)
GENERAL_CATEGORY = "general_health"


def category_for_query(query: str) -> str:
    """The training category a query clearly names, or general_health."""
    named = [category for category, words in _DOMAIN_WORDS if words.search(query)]
    return named[0] if len(named) == 1 else GENERAL_CATEGORY


def feedback_examples(
    rows: Iterable[StoredFeedback],
    *,
    pseudonymize: Pseudonymize | None = None,
    max_rating: int = CORRECTION_MAX_RATING,
) -> list[Example]:
    """Low-rated answers with an *approved* correction as instruction examples (TRAIN split only),
    deduplicated by content key, the first (lowest id) kept. A correction nobody approved in the
    review queue never trains, whoever sent it and however often."""
    out: list[Example] = []
    seen: set[str] = set()
    for row in sorted(rows, key=lambda r: r.id):
        if row.rating > max_rating or not (row.corrected_response or "").strip():
            continue
        if row.review_status != APPROVED:
            continue
        # Stored text is already scrubbed; scrubbing again costs little and guards old rows.
        instruction = scrub_phi(row.query).text
        input_ = scrub_phi(row.context).text
        output = scrub_phi(row.corrected_response or "").text
        key = content_key(instruction, input_, output)
        if key in seen:
            continue
        seen.add(key)
        user = row.user_pseudonym
        if user is not None and pseudonymize is not None:
            user = pseudonymize(user)  # a pseudonym passes through unchanged
        metadata: dict[str, Any] = {
            "source_format": "feedback",
            "training_category": category_for_query(instruction),
            "feedback_id": row.id,
            "model_version": row.model_version,
            "rating": row.rating,
            "created_at": row.created_at.isoformat(),
            "reviewed_by": row.reviewed_by,
            "content_key": key,
            "split": "train",  # corrections only ever join TRAIN: they never grade a model
        }
        if user is not None and Pseudonymizer.is_pseudonym(user):
            metadata["user_id"] = user
        out.append(Example(instruction, input_, output, metadata))
    return out
