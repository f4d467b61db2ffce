"""Monthly journals: where they are filed, and appending without duplicates or lost bytes."""

from __future__ import annotations

import orjson

from health_training.etl.journal import append_to_journal, journal_key
from health_training.etl.writer import write_example
from health_training_tests.etl.samples import PROCESSED, READINGS, batch


def test_journal_key():
    assert journal_key("metabolic_diabetes", 2025, 3) == (
        "training/metabolic_diabetes/2025/03/health_journal_2025_03.jsonl"
    )


def _examples(n: int) -> list[dict]:
    return [
        write_example(
            batch("StepsRecord", READINGS["StepsRecord"], key=f"k{i}"), processed_at=PROCESSED
        )
        for i in range(n)
    ]


def test_append_is_idempotent():
    records = _examples(3)
    first = append_to_journal(None, records)
    assert (first.added, first.skipped) == (3, 0)
    assert first.data.count(b"\n") == 3
    again = append_to_journal(first.data, records)
    assert (again.added, again.skipped, again.data) == (0, 3, first.data)
    as_lines = append_to_journal(first.data, [orjson.dumps(r) for r in records])
    assert as_lines.added == 0
    within = append_to_journal(None, [*records, records[0]])
    assert (within.added, within.skipped) == (3, 1)


def test_append_preserves_existing_bytes_including_malformed_lines():
    records = _examples(3)
    existing = orjson.dumps(records[0]) + b'\n{"truncated": \n\xff\xfe not json\n[1, 2]'
    result = append_to_journal(existing, [*records, b"\xff\xfe not json", b"[1, 2]\n"])
    assert result.data.startswith(existing + b"\n")
    assert (result.added, result.skipped) == (2, 3)  # records[0] and both malformed lines known
    tail = result.data[len(existing) + 1 :].splitlines()
    assert [orjson.loads(line)["metadata"]["source_key"] for line in tail] == ["k1", "k2"]


def test_append_accepts_one_blob_of_lines():
    lines = b"".join(orjson.dumps(r) + b"\n" for r in _examples(2))
    result = append_to_journal(b"", lines)
    assert (result.data, result.added) == (lines, 2)
    assert append_to_journal(result.data, lines).added == 0
