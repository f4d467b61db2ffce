"""The ETL engine's narrative writer ("Module 4"): one raw batch in, one JSONL training example out.

A raw batch is one user x one record type x one day (sleep: one night). `write_example` computes the
statistics (`clinical.analyze`), states them in `input`, interprets them in `output` quoting only
numbers that `input` shows (`narratives.describe`), records what each number reports
(`facts.facts_of`), and derives quality, complexity and relevance from the data, never at random
(`score`). `journal.append_to_journal` files the examples.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson

from health_training.data.domains import category_for
from health_training.data.records import COMPLEXITY_LEVELS, RELEVANCE_LEVELS
from health_training.etl.clinical import analyze
from health_training.etl.clinical_types import Analysis, Reading, SleepStage
from health_training.etl.facts import facts_of
from health_training.etl.narratives import Text, describe

MAX_OUTPUT_CHARS = 900


@dataclass(frozen=True, slots=True)
class RawBatch:
    """One user x one record type x one day of raw readings, as the ETL engine reads it."""

    user_id: str
    record_type: str
    day: date  # sleep: the date the night starts
    readings: tuple[Reading, ...] | tuple[SleepStage, ...]
    source_key: str
    note: str | None = None  # free text from the user; may hold PHI, copied verbatim into `input`


@dataclass(frozen=True, slots=True)
class Scores:
    quality_score: float
    complexity_level: str
    clinical_relevance: str


INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "BloodGlucoseRecord": (
        "Interpret this day of continuous glucose monitoring data and explain what it means for "
        "glycemic control.",
        "You are a diabetes educator. Review the CGM summary below and describe the key patterns, "
        "risks and next steps.",
        "Analyze the following glucose readings: assess time in range, variability and "
        "hypoglycemia risk.",
        "Write a short clinical narrative about this user's glucose control from the CGM "
        "statistics provided.",
        "Summarize the clinically relevant findings in this daily blood glucose record and give "
        "one practical recommendation.",
    ),
    "HeartRateRecord": (
        "Interpret this day of wearable heart-rate data, commenting on resting rate and exercise "
        "intensity.",
        "As a cardiology-aware health coach, explain what the following heart-rate summary shows.",
        "Review the heart-rate statistics below and identify anything clinically relevant.",
        "Write a brief clinical narrative about this user's heart rate, training zones and "
        "recovery.",
    ),
    "HeartRateVariabilityRmssdRecord": (
        "Interpret this day of heart rate variability (RMSSD) data and what it says about "
        "recovery and stress.",
        "Explain the autonomic health implications of the HRV summary below.",
        "Review these RMSSD measurements and describe the level, the trend and any concern.",
        "As a sports-medicine clinician, write a short assessment of this user's HRV for the day.",
    ),
    "SleepSessionRecord": (
        "Interpret this night of sleep data and assess sleep quantity and quality.",
        "You are a sleep specialist. Review the sleep session below and explain the key findings.",
        "Analyze the following sleep stages, efficiency and latency and give a recommendation.",
        "Write a brief clinical narrative about this user's night of sleep.",
    ),
    "StepsRecord": (
        "Interpret this day of step data and assess the user's physical activity.",
        "Review the daily step summary below and explain its health relevance.",
        "As a physical-activity coach, comment on this user's steps against their goal.",
        "Write a short clinical narrative about this user's daily movement pattern.",
    ),
    "ActiveCaloriesBurnedRecord": (
        "Interpret this day of active energy expenditure data.",
        "Review the active-calorie summary below and explain what it says about the user's day.",
        "As an exercise physiologist, assess this user's active calories against their goal.",
        "Write a short clinical narrative about this user's activity energy expenditure.",
    ),
    "": (  # record types the writer does not know
        "Summarize the following wearable measurements.",
        "Describe what this wearable record shows and what can and cannot be concluded from it.",
        "Review the measurements below and say whether any interpretation is possible.",
        "Write a short, cautious summary of this health record.",
    ),
}


def score(analysis: Analysis) -> Scores:
    """Quality from coverage, completeness and plausibility; levels from the findings."""
    n = analysis.readings
    plausible = (n - analysis.excluded) / n if n else 0.0
    # Squared plausibility: a day with many sensor errors is suspect beyond the values dropped.
    quality = (0.6 * analysis.coverage + 0.4 * analysis.completeness) * plausible**2
    weight = sum((0.5, 1.0, 2.0)[f.severity] for f in analysis.findings)
    complexity = 0 if weight < 1 else 1 if weight < 3 else 2
    severity = max((f.severity for f in analysis.findings), default=0)
    return Scores(round(quality, 3), COMPLEXITY_LEVELS[complexity], RELEVANCE_LEVELS[severity])


def _fit(sentences: list[tuple[int, str]], limit: int) -> str:
    """Join sentences; while too long, drop the least important (highest rank, latest first)."""
    kept = list(sentences)
    while len(kept) > 1 and sum(len(s) + 1 for _, s in kept) - 1 > limit:
        worst = max(range(len(kept)), key=lambda i: (kept[i][0], i))
        del kept[worst]
    return " ".join(s for _, s in kept)


def content_hash(instruction: str, input_: str, output: str, source_key: str) -> str:
    """SHA-256 of the canonical (sorted-key) JSON of the example's text and its source."""
    doc = {"instruction": instruction, "input": input_, "output": output, "source_key": source_key}
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


@lru_cache(maxsize=256)  # a run stamps thousands of examples with the same few times
def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:  # naive times are taken as UTC, as the engine writes them
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record_input(batch: RawBatch, text: Text) -> str:
    """The `input` of an example about `batch`: record type, day, the facts, the user's note.

    Shared with the question writer (`etl/questions`), whose lookups quote the same input.
    """
    label = "Night" if batch.record_type == "SleepSessionRecord" else "Date"
    facts = [
        f"Record type: {batch.record_type}.",
        f"{label}: {batch.day.isoformat()}.",
        *text.facts,
    ]
    if batch.note:
        facts.append(f"User note: {batch.note}")
    return " ".join(facts)


def write_example(
    batch: RawBatch, *, processed_at: datetime, category_map: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSONL record the ETL engine writes for one raw batch."""
    analysis = analyze(batch.record_type, batch.readings)
    text = describe(batch.record_type, analysis)
    input_ = record_input(batch, text)
    output = _fit(text.narrative, MAX_OUTPUT_CHARS)
    phrasings = INSTRUCTIONS.get(batch.record_type, INSTRUCTIONS[""])
    # Chosen from the content, not at random, so a rerun writes the same bytes.
    instruction = phrasings[zlib.crc32(batch.source_key.encode()) % len(phrasings)]
    scores = score(analysis)
    insights = [f.insight for f in analysis.findings] or [text.default_insight]
    return {
        "instruction": instruction,
        "input": input_,
        "output": output,
        "metadata": {
            "source_key": batch.source_key,
            "record_type": batch.record_type,
            "training_category": category_for(batch.record_type, category_map),
            "complexity_level": scores.complexity_level,
            "clinical_relevance": scores.clinical_relevance,
            "records_processed": analysis.readings,
            "quality_score": scores.quality_score,
            "clinical_insights": insights,
            # What each number of the narrative reports: evaluation checks answers against it.
            "facts": facts_of(analysis.stats, batch.record_type, analysis.excluded),
            "processing_timestamp": _timestamp(processed_at),
            "user_id": batch.user_id,
            "content_hash": content_hash(instruction, input_, output, batch.source_key),
        },
    }
