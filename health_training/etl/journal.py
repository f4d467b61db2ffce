"""Monthly ETL journals: where a domain's month of examples is filed, and appending to one.

`journal_key(...)` names the file; `append_to_journal` adds examples to its bytes, skipping any
whose `metadata.content_hash` (for a line without one: the SHA-256 of its bytes) is already there.
The caller reads and writes the file; nothing here touches storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class AppendResult:
    data: bytes
    added: int
    skipped: int


def journal_key(domain: str, year: int, month: int) -> str:
    """Where the ETL engine files a domain's month of examples."""
    return f"training/{domain}/{year:04d}/{month:02d}/health_journal_{year:04d}_{month:02d}.jsonl"


def _line_key(line: bytes) -> str:
    """metadata.content_hash when the line carries one, else the SHA-256 of the line's bytes."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        meta = doc.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("content_hash"), str):
            return meta["content_hash"]
    return hashlib.sha256(line).hexdigest()


def _lines(records: Iterable[Mapping[str, Any] | bytes]) -> Iterable[tuple[str, bytes]]:
    for record in records:
        if isinstance(record, Mapping):
            line = orjson.dumps(record)
            meta = record.get("metadata")
            if isinstance(meta, Mapping) and isinstance(meta.get("content_hash"), str):
                yield meta["content_hash"], line
            else:
                yield hashlib.sha256(line).hexdigest(), line
            continue
        raw = record.encode() if isinstance(record, str) else bytes(record)
        for part in raw.splitlines():
            part = part.rstrip(b"\r")
            if part.strip():
                yield _line_key(part), part


def append_to_journal(
    existing: bytes | None, records: Iterable[Mapping[str, Any]] | Iterable[bytes]
) -> AppendResult:
    """Append records (dicts or JSONL lines) whose key is not already in `existing` or the batch.

    `existing` is kept byte for byte, malformed lines included; only a final newline is added when
    missing, so the first appended line does not fuse with the last existing one.
    """
    if isinstance(records, bytes | bytearray):  # one blob of lines, not an iterable of lines
        records = [records]
    head = existing or b""
    seen = {_line_key(line.rstrip(b"\r")) for line in head.split(b"\n") if line.strip()}
    out: list[bytes] = []
    skipped = 0
    for key, line in _lines(records):
        if key in seen:
            skipped += 1
            continue
        seen.add(key)
        out.append(line)
    if not out:
        return AppendResult(head, 0, skipped)
    sep = b"\n" if head and not head.endswith(b"\n") else b""
    return AppendResult(head + sep + b"\n".join(out) + b"\n", len(out), skipped)
