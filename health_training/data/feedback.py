"""User feedback on model answers: the record, import-file validation, and corrections as examples.

A feedback record rates one answer (`rating` 1–5) and may carry the answer the user wanted
(`corrected_response`). `parse_feedback_file(name, data)` reads JSONL or CSV exports and never
raises on bad input: each record is accepted or quarantined with its line number and a reason
(`lines_read == accepted + quarantined`; blank lines and the CSV header are not records).
`prepare_for_storage` scrubs PHI from the free text and swaps the user id for its pseudonym, so
the store never sees either. `feedback_examples` turns low-rated answers that carry a correction
into TRAIN-only instruction examples.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from health_training.data.phi import Pseudonymizer, scrub_phi
from health_training.data.records import Example, Quarantined, content_key

RAW_EXCERPT = 500  # characters of a bad line kept in quarantine: enough to debug, never 50 MB
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


@dataclass(frozen=True, slots=True)
class FeedbackImport:
    """What one import file yielded."""

    format: str
    accepted: tuple[FeedbackRecord, ...]
    quarantined: tuple[Quarantined, ...]
    lines_read: int

    @property
    def quarantine_reasons(self) -> dict[str, int]:
        return dict(Counter(q.reason for q in self.quarantined).most_common())

    @property
    def balanced(self) -> bool:
        return self.lines_read == len(self.accepted) + len(self.quarantined)


# --- validation -----------------------------------------------------------------------------


def _kind(value: object) -> str:
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
        raise FeedbackError("wrong_type", f"field '{key}' must be a string, got {_kind(value)}")
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


def _excerpt(text: str) -> str:
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from bad bytes
    return text if len(text) <= RAW_EXCERPT else text[:RAW_EXCERPT] + "…"


def detect_feedback_format(name: str, data: bytes) -> str:
    """The file's format, jsonl or csv: by extension (.json is read as JSONL, one object a
    line), else JSONL when the first non-blank byte is "{"."""
    lower = name.lower()
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lower.endswith(".csv"):
        return "csv"
    return "jsonl" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else "csv"


def _jsonl_records(data: bytes) -> Iterator[tuple[int, str, Mapping[str, Any] | FeedbackError]]:
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        raw = line.rstrip(b"\r").decode("utf-8", "replace")
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                yield number, raw, FeedbackError("not_utf8", "line is not valid UTF-8 text")
                continue
            yield number, raw, FeedbackError("invalid_json", f"line is not valid JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            error = FeedbackError("not_an_object", f"line is {_kind(obj)}, expected a JSON object")
            yield number, raw, error
            continue
        yield number, raw, obj


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _csv_records(data: bytes) -> Iterator[tuple[int, str, Mapping[str, Any] | FeedbackError]]:
    # Bad bytes survive decoding as lone surrogates, so one bad cell quarantines only its row.
    lines = _LINE.findall(data.decode("utf-8", "surrogateescape"))
    reader = csv.reader(iter(lines), strict=False)
    header: list[str] | None = None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raw = "".join(lines[start - 1 : reader.line_num])
            yield start, raw, FeedbackError("bad_csv_row", f"row cannot be read as CSV ({exc})")
            continue
        if not any(cell.strip() for cell in row):
            continue  # blank lines (and all-empty rows spreadsheets append) are not records
        raw = "".join(lines[start - 1 : reader.line_num]).rstrip("\r\n")
        if header is None:
            header = [cell.strip().lower() for cell in row]
            continue
        if len(row) != len(header):
            detail = f"row has {len(row)} fields, the header (line 1) has {len(header)}"
            yield start, raw, FeedbackError("bad_csv_row", detail)
            continue
        fields: dict[str, str] = {}
        for key, cell in zip(header, row, strict=True):
            fields.setdefault(key, cell)  # a repeated column: the first one counts
        yield start, raw, fields


def parse_feedback_file(name: str, data: bytes) -> FeedbackImport:
    """Validate every record of a JSONL or CSV import file; never raises on bad input."""
    fmt = detect_feedback_format(name, data)
    data = data.removeprefix(b"\xef\xbb\xbf")
    records = _jsonl_records(data) if fmt == "jsonl" else _csv_records(data)
    accepted: list[FeedbackRecord] = []
    quarantined: list[Quarantined] = []
    for number, raw, item in records:
        try:
            if isinstance(item, FeedbackError):
                raise item
            accepted.append(validate_feedback(item))
        except FeedbackError as exc:
            where = f"{name}:{number}: {exc.detail}"
            quarantined.append(Quarantined(name, number, exc.reason, where, _excerpt(raw)))
    return FeedbackImport(
        fmt, tuple(accepted), tuple(quarantined), len(accepted) + len(quarantined)
    )


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
