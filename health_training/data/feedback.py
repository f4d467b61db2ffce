"""User feedback on model answers: the record, its validation, and what the store keeps.

A feedback record rates one answer (`rating` 1–5) and may carry the answer the user wanted
(`corrected_response`). `validate_feedback` checks one record's fields; `prepare_for_storage`
scrubs PHI from the free text and swaps the user id for its pseudonym, so the store never sees
either. Export files are read by feedback_import.py; approved corrections become training
examples in correction_examples.py.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from health_training.data.phi import Pseudonymizer, scrub_phi

REQUIRED_FIELDS: tuple[str, ...] = ("query", "response", "rating", "model_version")
CORRECTION_MAX_RATING = 2  # answers rated this or lower, with a correction, become examples
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"  # a correction's review status

Pseudonymize = Callable[[str], str]


class FeedbackError(ValueError):
    """A record that cannot be accepted; `reason` is a stable slug, the message says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One rating of a model answer, as given (raw user id, unscrubbed text)."""

    query: str
    response: str
    rating: int
    model_version: str
    user_id: str | None = None
    corrected_response: str | None = None
    context: str = ""  # the input the answer was grounded on, if the export has it
    created_at: datetime | None = None  # UTC; None: the store records the time of storage
    key_id: str | None = None  # the API key that rated (None: an import by an operator)
    tenant: str | None = None
    # The number guard's verdict on the correction: numbers the question does not support
    # (None: not checked, e.g. an import).
    unsupported_numbers: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class StoredFeedback:
    """A row of the feedback store: scrubbed text and a pseudonym, never the raw id."""

    id: int
    created_at: datetime
    user_pseudonym: str | None
    model_version: str
    rating: int
    query: str
    response: str
    corrected_response: str | None
    context: str
    key_id: str | None = None
    tenant: str | None = None
    # The review queue (stores/review_queue.py): pending, approved or rejected; None when
    # the row carries no correction.
    review_status: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None
    unsupported_numbers: str | None = None  # comma-separated; "" when all were supported


# --- validation -----------------------------------------------------------------------------


def type_name(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def parse_rating(value: object) -> int:
    """An integer 1–5; "4", 4.0 and " 4 " are read as 4, "five", 4.5 and true are refused."""
    number: float | int | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or number != number or not float(number).is_integer():
        raise FeedbackError("bad_rating", f"rating must be a whole number 1-5, got {value!r}")
    if not 1 <= number <= 5:
        raise FeedbackError("bad_rating", f"rating {int(number)} is outside 1-5")
    return int(number)


def parse_timestamp(value: str) -> datetime:
    """ISO-8601 in UTC; a time without an offset is read as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # overflow: year 1 with a positive offset
        raise FeedbackError(
            "bad_timestamp", f"created_at {value!r} is not ISO-8601 (e.g. 2025-03-01T12:00:00Z)"
        ) from None


_SURROGATE = re.compile(r"[\ud800-\udfff]")  # what undecodable bytes become (surrogateescape)


def _text(fields: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = fields.get(key)
    if value is None or (not required and value == ""):
        if required:
            raise FeedbackError("missing_field", f"field '{key}' is missing")
        return None
    if not isinstance(value, str):
        raise FeedbackError("wrong_type", f"field '{key}' must be a string, got {type_name(value)}")
    if _SURROGATE.search(value):
        raise FeedbackError("not_utf8", f"field '{key}' is not valid UTF-8 text")
    if "\x00" in value:  # Postgres text cannot hold NUL
        raise FeedbackError("nul_character", f"field '{key}' holds a NUL character")
    if required and not value.strip():
        raise FeedbackError("empty_field", f"field '{key}' is empty")
    return value


def validate_feedback(fields: Mapping[str, Any]) -> FeedbackRecord:
    """One decoded record (JSON object or CSV row) as a FeedbackRecord; raises FeedbackError.
    Unknown fields are ignored."""
    query = _text(fields, "query", required=True)
    response = _text(fields, "response", required=True)
    if fields.get("rating") in (None, ""):
        raise FeedbackError("missing_field", "field 'rating' is missing")
    rating = parse_rating(fields["rating"])
    model_version = _text(fields, "model_version", required=True)
    user_id = fields.get("user_id")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)  # numeric ids are common in exports
    user_id = _text({"user_id": user_id}, "user_id", required=False)
    created = _text(fields, "created_at", required=False)
    corrected = _text(fields, "corrected_response", required=False)
    return FeedbackRecord(
        query=query or "",
        response=response or "",
        rating=rating,
        model_version=(model_version or "").strip(),
        user_id=user_id.strip() if user_id and user_id.strip() else None,
        corrected_response=corrected if corrected and corrected.strip() else None,
        context=_text(fields, "context", required=False) or "",
        created_at=parse_timestamp(created) if created and created.strip() else None,
    )


# --- files ------------------------------------------------------------------------------------


# --- storage preparation ------------------------------------------------------------------------


def prepare_for_storage(
    record: FeedbackRecord, pseudonymize: Pseudonymize
) -> tuple[FeedbackRecord, dict[str, int]]:
    """The record with PHI scrubbed from its free text and its user id pseudonymized, and the
    identifiers scrubbed by kind. Refuses a `pseudonymize` that does not return a pseudonym."""
    counts: Counter[str] = Counter()

    def scrub(text: str) -> str:
        result = scrub_phi(text)
        counts.update(result.counts)
        return result.text

    pseudonym = None
    if record.user_id is not None:
        pseudonym = pseudonymize(record.user_id)
        if not Pseudonymizer.is_pseudonym(pseudonym):
            raise ValueError("pseudonymize must return a Pseudonymizer pseudonym ('u_' + 20 hex)")
    clean = replace(
        record,
        query=scrub(record.query),
        response=scrub(record.response),
        corrected_response=(
            scrub(record.corrected_response) if record.corrected_response is not None else None
        ),
        context=scrub(record.context),
        user_id=pseudonym,
    )
    return clean, dict(counts)


def dedup_key(record: FeedbackRecord) -> str:
    """SHA-256 of a prepared record's fields: importing the same export twice adds nothing.
    A record without created_at matches an identical one without it."""
    stamp = record.created_at.isoformat() if record.created_at else ""
    fields = (
        *(record.user_id or "", record.model_version, str(record.rating), stamp),
        *(record.query, record.response, record.corrected_response or "", record.context),
    )
    if record.key_id is not None:  # added only when set: older rows keep their keys
        fields = (*fields, record.key_id)
    return hashlib.sha256("\x1f".join(fields).encode("utf-8", "replace")).hexdigest()


# --- corrections as training examples -------------------------------------------------------------
