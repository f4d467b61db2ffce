"""Feedback export files (JSONL or CSV) read record by record: `parse_feedback_file(name, data)`
never raises on bad input; each record is accepted (validated by feedback.py's
`validate_feedback`) or quarantined with its line number and a reason
(`lines_read == accepted + quarantined`; blank lines and the CSV header are not records)."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from health_training.data.feedback import (
    FeedbackError,
    FeedbackRecord,
    type_name,
    validate_feedback,
)
from health_training.data.records import Quarantined

RAW_EXCERPT = 500  # characters of a bad line kept in quarantine: enough to debug, never 50 MB


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
            error = FeedbackError(
                "not_an_object", f"line is {type_name(obj)}, expected a JSON object"
            )
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
