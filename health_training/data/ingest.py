"""Ingest one month of domain files: parse each, tag its domain, and add up the accounting.

The domain of an example is the folder it was filed under (`training/{domain}/{yyyy}/{mm}/...`),
folded onto our category names, so every format gets one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from health_training.data.config import Vocabulary
from health_training.data.domains import canonical_domain
from health_training.data.formats import parse_file
from health_training.data.records import Example, IngestResult, Quarantined

QUARANTINE_SUFFIX = ".quarantine.jsonl"


@dataclass(frozen=True, slots=True)
class FileSummary:
    key: str
    format: str
    lines_read: int
    accepted: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class MonthIngest:
    """Everything one month's files yielded, with per-file accounting."""

    month: str
    files: tuple[FileSummary, ...]
    accepted: tuple[Example, ...]
    quarantined: tuple[Quarantined, ...]

    @property
    def lines_read(self) -> int:
        return sum(f.lines_read for f in self.files)

    @property
    def quarantine_reasons(self) -> dict[str, int]:
        return dict(Counter(q.reason for q in self.quarantined).most_common())

    @property
    def balanced(self) -> bool:
        return self.lines_read == len(self.accepted) + len(self.quarantined)


def domain_of(key: str) -> str:
    """`training/sleep_wellness/2025/01/x.jsonl` → `sleep_recovery`."""
    parts = key.split("/")
    return canonical_domain(parts[1]) if len(parts) > 2 and parts[0] == "training" else "unknown"


def is_input_file(key: str) -> bool:
    return key.endswith((".jsonl", ".json")) and not key.endswith(QUARANTINE_SUFFIX)


def quarantine_key(key: str) -> str:
    """The quarantine file beside a source file."""
    stem = key.rsplit(".", 1)[0]
    return stem + QUARANTINE_SUFFIX


def ingest_month(
    month: str,
    files: Mapping[str, bytes],
    fmt: str = "auto",
    vocabulary: Vocabulary | None = None,
) -> MonthIngest:
    """Parse every file of a month; examples get `domain` and `month` metadata."""
    summaries: list[FileSummary] = []
    accepted: list[Example] = []
    quarantined: list[Quarantined] = []
    for key in sorted(files):
        result: IngestResult = parse_file(key, files[key], fmt, vocabulary)
        domain = domain_of(key)
        summaries.append(
            FileSummary(
                key, result.format, result.lines_read, len(result.accepted), len(result.quarantined)
            )
        )
        for ex in result.accepted:
            meta = dict(ex.metadata)
            meta.setdefault("training_category", domain)
            meta["domain"] = domain
            meta["month"] = month
            accepted.append(Example(ex.instruction, ex.input, ex.output, meta))
        quarantined.extend(result.quarantined)
    return MonthIngest(month, tuple(summaries), tuple(accepted), tuple(quarantined))
