"""One month of the data plane in the lake: what ingestion and curation produced, stored.

The monthly assets (defs/data/narratives.py) loop over the months of a run and call these:
ingest a month's input files and store the accepted examples, quarantine files beside their
sources and the month's summary; store the curated month; compute its drift against the current
training baseline and store it beside the month.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from health_training.data import layout
from health_training.data.blob_storage import BlobStorage
from health_training.data.config import DataConfig
from health_training.data.curation import CurationResult
from health_training.data.dataset import to_row
from health_training.data.drift import Profile, compare, profile_of
from health_training.data.ingest import MonthIngest, ingest_month, is_input_file, quarantine_key
from health_training.data.records import examples_to_jsonl


def _json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


def store_raw_month(
    storage: BlobStorage, month: str, policy: DataConfig, *, warn: Callable[[str], None]
) -> MonthIngest:
    """Ingest every input file of `month`; write accepted examples, quarantine files beside
    their sources (a corrected file leaves no stale quarantine), and the month's summary."""
    keys = [
        k
        for k in storage.list_keys(layout.TRAINING_PREFIX)
        if is_input_file(k) and layout.month_of_input(k) == month
    ]
    if not keys:
        warn(f"no input files for {month} under {storage.uri(layout.TRAINING_PREFIX)}")
    files = {k: storage.read_bytes(k) for k in keys}
    result = ingest_month(month, files, policy.format, policy.vocabulary)
    for summary in result.files:
        bad = [q for q in result.quarantined if q.source == summary.key]
        qkey = quarantine_key(summary.key)
        if bad:
            storage.write_bytes(qkey, b"".join(orjson.dumps(q.to_dict()) + b"\n" for q in bad))
            warn(
                f"{len(bad)} of {summary.lines_read} records quarantined to {storage.uri(qkey)}; "
                f"first: {bad[0].message()}"
            )
        elif storage.exists(qkey):
            storage.delete(qkey)
    storage.write_bytes(layout.raw_accepted(month), examples_to_jsonl(result.accepted))
    summary_doc = {
        "month": month,
        "lines_read": result.lines_read,
        "accepted": len(result.accepted),
        "quarantined": len(result.quarantined),
        "quarantine_reasons": result.quarantine_reasons,
        "files": [f.key for f in result.files],
        "empty_reason": empty_reason(result, storage),
    }
    storage.write_bytes(layout.raw_summary(month), _json(summary_doc))
    return result


def empty_reason(result: MonthIngest, storage: BlobStorage) -> str | None:
    """Why a month yielded nothing, in words; None when it yielded examples."""
    if result.accepted:
        return None
    if not result.files:
        return f"no input files for {result.month} under {storage.uri(layout.TRAINING_PREFIX)}"
    if not result.lines_read:
        return f"the {len(result.files)} input file(s) of {result.month} hold no records"
    return f"all {result.lines_read} records of {result.month} were quarantined"


def store_curated_month(
    storage: BlobStorage, month: str, result: CurationResult, *, key_fingerprint: str
) -> None:
    storage.write_bytes(layout.curated_examples(month), examples_to_jsonl(result.kept))
    storage.write_bytes(
        layout.curated_keys(month),
        "\n".join(ex.metadata["content_key"] for ex in result.kept).encode(),
    )
    summary = {
        "month": month,
        "examples_in": result.examples_in,
        "kept": len(result.kept),
        "dropped": result.dropped,
        "phi_scrubbed": result.phi_scrubbed,
        "residual_phi": result.residual_phi,
        "phi_ner_gate": result.phi_ner,
        # Which pseudonym key made this month's user ids: datasets refuse to mix keys.
        "pseudonym_key_fingerprint": key_fingerprint,
    }
    storage.write_bytes(layout.curated_summary(month), _json(summary))


def drift_of_month(
    storage: BlobStorage, month: str, baseline: Profile | None, kept: Any, threshold: float
) -> dict[str, Any] | None:
    """The month's drift against the training baseline, stored beside it; None when there is
    no baseline yet or the month kept nothing (drift against nothing would read as 1.0)."""
    if baseline is None or not kept:
        return None
    found = compare(baseline, profile_of(to_row(ex) for ex in kept), threshold)
    drift = {"score": found.score, "threshold": found.threshold, **found.components}
    storage.write_bytes(layout.curated_drift(month), orjson.dumps(drift))
    return drift
