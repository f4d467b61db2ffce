"""The normalized training example and the bookkeeping of what ingestion accepted or refused.

Every input line ends up in exactly one of `IngestResult.accepted` or `IngestResult.quarantined`,
so `lines_read == len(accepted) + len(quarantined)` always holds.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

# Metadata fields our ETL writer puts on every example, in its order (`content_hash` follows).
ETL_METADATA_FIELDS: tuple[str, ...] = (
    "source_key",
    "record_type",
    "training_category",
    "complexity_level",
    "clinical_relevance",
    "records_processed",
    "quality_score",
    "clinical_insights",
    "facts",
    "processing_timestamp",
    "user_id",
)
# What every ETL record must carry after the vocabulary mapping (data.yaml): the fields the
# OLMo spec's and Module 4's records share. Insights, facts and the user id are optional.
ETL_REQUIRED_FIELDS: tuple[str, ...] = (
    "source_key",
    "record_type",
    "training_category",
    "complexity_level",
    "clinical_relevance",
    "records_processed",
    "quality_score",
    "processing_timestamp",
)
COMPLEXITY_LEVELS: tuple[str, ...] = ("low", "moderate", "high")
RELEVANCE_LEVELS: tuple[str, ...] = ("standard", "elevated", "high")


@dataclass(frozen=True, slots=True)
class Example:
    """One instruction example after normalization, whatever format it came in."""

    instruction: str
    input: str
    output: str
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "input": self.input,
            "output": self.output,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A line (or record) that could not be accepted, with where it came from and why."""

    source: str
    line: int
    reason: str
    detail: str
    raw: str  # the offending text, truncated; never logged, only written to the quarantine file

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "reason": self.reason,
            "detail": self.detail,
            "raw": self.raw,
        }

    def message(self) -> str:
        return f"{self.source}:{self.line}: {self.detail}"


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one file (or one month of files) yielded."""

    format: str
    lines_read: int
    accepted: tuple[Example, ...]
    quarantined: tuple[Quarantined, ...]

    @property
    def quarantine_reasons(self) -> dict[str, int]:
        return dict(Counter(q.reason for q in self.quarantined).most_common())

    @property
    def balanced(self) -> bool:
        return self.lines_read == len(self.accepted) + len(self.quarantined)


def normalize_text(text: str) -> str:
    """Canonical form for duplicate detection: NFKC, case-folded, white space collapsed."""
    # str.split() collapses the same Unicode white space as \s+, several times faster.
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def content_key(instruction: str, input_: str, output: str) -> str:
    """Stable SHA-256 key of an example's normalized text; drives dedup and split assignment."""
    joined = "\x1f".join(normalize_text(t) for t in (instruction, input_, output))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def examples_to_jsonl(examples: Iterable[Example]) -> bytes:
    """Serialize examples one JSON object a line (the stage files between assets)."""
    return b"".join(orjson.dumps(ex.to_dict()) + b"\n" for ex in examples)


def examples_from_jsonl(data: bytes) -> list[Example]:
    """Read back what `examples_to_jsonl` wrote (trusted stage files, not raw input)."""
    out: list[Example] = []
    for line in data.splitlines():
        if line.strip():
            d = orjson.loads(line)
            out.append(Example(d["instruction"], d["input"], d["output"], d.get("metadata", {})))
    return out


def schema_problems(examples: Iterable[Example]) -> Counter[str]:
    """Problems by kind; ETL examples must carry the data contract's required metadata."""
    problems: Counter[str] = Counter()
    for ex in examples:
        if not ex.instruction.strip() or not ex.output.strip():
            problems["empty_text"] += 1
        meta = ex.metadata
        if not isinstance(meta.get("content_key"), str) or len(meta["content_key"]) != 64:
            problems["content_key"] += 1
        if meta.get("source_format") == "etl":
            missing = [f for f in ETL_REQUIRED_FIELDS if f not in meta]
            if missing:
                problems["missing_metadata"] += 1
            q = meta.get("quality_score")
            if not isinstance(q, int | float) or not 0 <= q <= 1:
                problems["quality_score"] += 1
    return problems
