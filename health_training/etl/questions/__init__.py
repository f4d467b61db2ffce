"""Question-answer examples from the ETL engine's raw batches, beside the narratives.

A model trained on narratives alone learns to fill templates; asked a real question ("was my avg
of 163 bad?") it invents numbers. This package writes questions of six kinds (`QUESTION_KINDS`)
whose reference answers state only what follows from the record or the message and the clinical
references (`etl/reference_values.py`), computed where needed with `etl/derived.py`:

  lookup        a fact of the record ("What was my highest heart rate?")
  judgement     a value of the record against its reference ("is my resting hr of 88 ok?")
  computation   pace, speed, energy balance, time in bed, a change, a share
  user_stated   numbers typed in the message, no input ("my avg was 163 mg/dl, is that bad?"),
                of one record type or of one day's several (`write_day_stated`)
  unanswerable  what the data cannot tell; the answer says what is missing, with no number
  day_summary   one user's day across record types

Each kind has several template families (`FAMILIES`); `families.HELD_OUT_FAMILIES` are kept out of
training. Everything is drawn from a `Random` seeded with the batch's source key (and the caller's
`salt`), so a rerun writes the same bytes. `write_question` and `write_day_summary` return
`write_example`'s dict shape with the question's metadata (`example.QUESTION_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from random import Random
from typing import Any

from health_training.data.domains import category_for
from health_training.data.records import COMPLEXITY_LEVELS, RELEVANCE_LEVELS
from health_training.etl.questions import (
    computation,
    day_summary,
    judgement,
    lookup,
    unanswerable,
    user_stated,
    user_stated_day,
)
from health_training.etl.questions.example import (
    QUESTION_FIELDS,
    Draft,
    Record,
    build_example,
    read_record,
)
from health_training.etl.questions.families import HELD_OUT_FAMILIES, KIND_WEIGHTS, QUESTION_KINDS
from health_training.etl.writer import RawBatch, Scores, score

__all__ = [
    "FAMILIES",
    "HELD_OUT_FAMILIES",
    "KIND_WEIGHTS",
    "QUESTION_FIELDS",
    "QUESTION_KINDS",
    "write_day_stated",
    "write_day_summary",
    "write_question",
]

_MODULES = {
    "lookup": lookup,
    "judgement": judgement,
    "computation": computation,
    "user_stated": user_stated,
    "unanswerable": unanswerable,
    "day_summary": day_summary,
}
# family id -> its phrasings (question templates), over all kinds
FAMILIES: dict[str, tuple[Any, ...]] = {
    family: phrasings
    for module in (*_MODULES.values(), user_stated_day)
    for family, phrasings in module.FAMILIES.items()
}
DAY_SUMMARY_TYPE = "DaySummary"


def write_question(
    batch: RawBatch,
    *,
    kind: str,
    processed_at: datetime,
    category_map: Mapping[str, str] | None = None,
    salt: str = "",
) -> dict[str, Any]:
    """One question example of `kind` about `batch`. A kind the record cannot support (no usable
    readings, no fact to ask about) falls back to an unanswerable question."""
    if kind not in KIND_WEIGHTS:
        raise ValueError(f"unknown question kind {kind!r}; expected one of {sorted(KIND_WEIGHTS)}")
    record = read_record(batch)
    rng = Random(f"{batch.source_key}#question/{kind}/{salt}")
    draft: Draft | None = None
    if record.analysis.stats is not None:
        draft = _MODULES[kind].draft(record, rng)
    if draft is None:
        kind, draft = "unanswerable", unanswerable.draft(record, rng)
    return build_example(
        draft,
        kind=kind,
        source_key=f"{batch.source_key}#question/{draft.family}",
        record_type=batch.record_type,
        training_category=category_for(batch.record_type, category_map),
        scores=score(record.analysis),
        records_processed=record.analysis.readings,
        insights=list(record.insights),
        processed_at=processed_at,
        user_id=batch.user_id,
    )


def write_day_summary(
    batches: Sequence[RawBatch],
    *,
    processed_at: datetime,
    category_map: Mapping[str, str] | None = None,
    salt: str = "",
) -> dict[str, Any] | None:
    """A summary of one user's day over 2-4 of `batches` (same user and day), or None when fewer
    than two have usable statistics. Scores: the lowest quality, the highest levels."""
    drafted = _day_draft(batches, "day_summary", day_summary.draft, salt)
    return _day_example(*drafted, "day_summary", processed_at, category_map) if drafted else None


def write_day_stated(
    batches: Sequence[RawBatch],
    *,
    processed_at: datetime,
    category_map: Mapping[str, str] | None = None,
    salt: str = "",
) -> dict[str, Any] | None:
    """A user-stated message with values of 2-4 of `batches`' record types (same user and day),
    no input; None when fewer than two types have a value to state. Scores as a day summary's."""
    drafted = _day_draft(batches, "user_stated_day", user_stated_day.draft, salt)
    return _day_example(*drafted, "user_stated", processed_at, category_map) if drafted else None


def _day_draft(
    batches: Sequence[RawBatch],
    name: str,
    draw: Callable[[list[Record], Random], tuple[Draft, list[Record]] | None],
    salt: str,
) -> tuple[Draft, list[Record]] | None:
    """`draw`'s draft over the day's records and the records it used, drawn from a `Random`
    seeded with the first batch's key, `name` and `salt`."""
    if not batches:
        return None
    rng = Random(f"{batches[0].source_key}#question/{name}/{salt}")
    return draw([read_record(b) for b in batches], rng)


def _day_example(
    draft: Draft,
    used: list[Record],
    kind: str,
    processed_at: datetime,
    category_map: Mapping[str, str] | None,
) -> dict[str, Any]:
    head = used[0].batch
    return build_example(
        draft,
        kind=kind,
        source_key=f"{head.source_key}#question/{draft.family}",
        record_type=DAY_SUMMARY_TYPE,
        training_category=category_for(head.record_type, category_map),
        scores=_combined(used),
        records_processed=sum(r.analysis.readings for r in used),
        insights=[i for r in used for i in r.insights],
        processed_at=processed_at,
        user_id=head.user_id,
    )


def _combined(records: list[Record]) -> Scores:
    scores = [score(r.analysis) for r in records]
    return Scores(
        min(s.quality_score for s in scores),
        max((s.complexity_level for s in scores), key=COMPLEXITY_LEVELS.index),
        max((s.clinical_relevance for s in scores), key=RELEVANCE_LEVELS.index),
    )
