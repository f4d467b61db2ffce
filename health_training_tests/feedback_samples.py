"""Sample feedback for the parsing tests (data/test_feedback.py) and the store tests (stores/)."""

from __future__ import annotations

import csv
import io

import orjson

from health_training.data.feedback import FeedbackRecord

PHI_QUERY = "My name is Alice Morgan, call me at (555) 123-4567. Why is my glucose high?"
RAW_USER = "patient-raw-id-4242"
GOOD = {"query": "How did I sleep?", "response": "Poorly.", "rating": 4, "model_version": "v1"}
PSEUDONYM_KEY = b"feedback-test-key-0123456789"


def jsonl(*records: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def csv_bytes(*rows: list[object]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def sample_record(rating: int = 4, **fields: object) -> FeedbackRecord:
    base = {"query": "How did I sleep?", "response": "Fine.", "rating": rating}
    return FeedbackRecord(**{**base, "model_version": "v1", **fields})
