"""What a question kind reads (`Record`), what it writes (`Draft`), and the JSONL example built
from that: `write_example`'s shape and metadata, plus the question's own fields.

A question example carries every metadata field a narrative carries, computed the same way
(`writer.score`, `writer.content_hash`, `writer._timestamp`), followed by `example_kind`,
`question_kind`, `template_family`, `asked` and `cannot_answer` (see `QUESTION_FIELDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from health_training.etl.clinical import analyze
from health_training.etl.clinical_types import Analysis
from health_training.etl.facts import facts_of
from health_training.etl.narratives import describe
from health_training.etl.writer import RawBatch, Scores, _timestamp, content_hash, record_input

# The metadata fields a question adds after the narrative's (ETL_METADATA_FIELDS, content_hash).
QUESTION_FIELDS: tuple[str, ...] = (
    "example_kind",
    "question_kind",
    "template_family",
    "asked",
    "cannot_answer",
)


@dataclass(frozen=True, slots=True)
class Record:
    """One raw batch as the ETL writer sees it: analysis, the example's input and its facts."""

    batch: RawBatch
    analysis: Analysis
    input: str
    facts: dict[str, Any]
    insights: tuple[str, ...]


def read_record(batch: RawBatch) -> Record:
    """The analysis, input and facts `write_example` would compute for `batch`."""
    analysis = analyze(batch.record_type, batch.readings)
    text = describe(batch.record_type, analysis)
    facts = facts_of(analysis.stats, batch.record_type, analysis.excluded)
    insights = tuple(f.insight for f in analysis.findings) or (text.default_insight,)
    return Record(batch, analysis, record_input(batch, text), facts, insights)


@dataclass(frozen=True, slots=True)
class Asked:
    """What the question asks for: the answer must state this value (in `unit`, as
    `ml/evaluation/faithfulness.py` reads units; None for counts and unit-less values)."""

    fact: str
    value: float
    unit: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"fact": self.fact, "value": self.value, "unit": self.unit}


@dataclass(frozen=True, slots=True)
class Draft:
    """A question kind's output before metadata: the texts and what the answer rests on."""

    family: str
    instruction: str
    input: str
    output: str
    facts: dict[str, Any]  # the record's facts (or the stated ones) plus computed values
    asked: tuple[Asked, ...] = ()
    cannot_answer: bool = False


def build_example(
    draft: Draft,
    *,
    kind: str,
    source_key: str,
    record_type: str,
    training_category: str,
    scores: Scores,
    records_processed: int,
    insights: list[str],
    processed_at: datetime,
    user_id: str,
) -> dict[str, Any]:
    """The JSONL record: `write_example`'s fields in its order, then the question's. The input
    ends with what the question's numbers imply (`etl/computed.py`), as the model server appends
    it to a request: the model copies a pace or a change, it never computes one."""
    from health_training.etl.computed import with_computed_facts

    input_ = with_computed_facts(draft.instruction, draft.input)
    digest = content_hash(draft.instruction, input_, draft.output, source_key)
    return {
        "instruction": draft.instruction,
        "input": input_,
        "output": draft.output,
        "metadata": {
            "source_key": source_key,
            "record_type": record_type,
            "training_category": training_category,
            "complexity_level": scores.complexity_level,
            "clinical_relevance": scores.clinical_relevance,
            "records_processed": records_processed,
            "quality_score": scores.quality_score,
            "clinical_insights": insights,
            "facts": draft.facts,
            "processing_timestamp": _timestamp(processed_at),
            "user_id": user_id,
            "content_hash": digest,
            "example_kind": "question",
            "question_kind": kind,
            "template_family": draft.family,
            "asked": [a.as_dict() for a in draft.asked],
            "cannot_answer": draft.cannot_answer,
        },
    }
