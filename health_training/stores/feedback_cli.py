"""Feedback from the command line: one rating typed in, or a JSONL/CSV export imported.

`health-training feedback add|import` (commands/ratings.py) calls these two; both validate
with `health_training.data.feedback` and store through `FeedbackStore`, whose writes scrub PHI
and pseudonymize user ids.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from health_training.data.feedback import Pseudonymize, validate_feedback
from health_training.data.feedback_import import parse_feedback_file
from health_training.data.ingest import quarantine_key
from health_training.files import write_atomic
from health_training.stores.feedback_store import FeedbackStore


def add_feedback_cli(
    store: FeedbackStore,
    pseudonymize: Pseudonymize,
    *,
    query: str,
    response: str,
    rating: int | str,
    corrected: str | None = None,
    model_version: str,
    user_id: str,
) -> int:
    """Validate one rating typed on the command line and store it; its id. Raises ValueError
    (a FeedbackError with a reason) when a field is invalid."""
    fields = {
        "query": query,
        "response": response,
        "rating": rating,
        "corrected_response": corrected,
        "model_version": model_version,
        "user_id": user_id,
    }
    record = validate_feedback(fields)
    # Stamp now: two identical ratings typed a minute apart are two ratings, not a duplicate.
    return store.add(replace(record, created_at=datetime.now(UTC)), pseudonymize)


def import_feedback_file(store: FeedbackStore, pseudonymize: Pseudonymize, path: Path) -> dict:
    """Import a JSONL or CSV export: valid records are stored in one transaction, the rest go to
    `<stem>.quarantine.jsonl` beside the file (a stale one is removed when all lines pass)."""
    path = Path(path)
    result = parse_feedback_file(path.name, path.read_bytes())
    phi: Counter[str] = Counter()
    added = store.add_many(result.accepted, pseudonymize, phi_counts=phi)
    qpath = path.with_name(quarantine_key(path.name))
    if result.quarantined:
        write_atomic(qpath, b"".join(orjson.dumps(q.to_dict()) + b"\n" for q in result.quarantined))
    else:
        qpath.unlink(missing_ok=True)
    return {
        "file": str(path),
        "format": result.format,
        "lines": result.lines_read,
        "accepted": len(result.accepted),
        "added": added,
        "duplicates": len(result.accepted) - added,
        "quarantined": len(result.quarantined),
        "quarantine_reasons": result.quarantine_reasons,
        "quarantine_file": str(qpath) if result.quarantined else None,
        "phi_scrubbed": dict(phi.most_common()),
    }
