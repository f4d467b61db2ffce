"""Seeded synthetic ETL journals: what a user base's wearables produce, written and partly corrupted.

Deterministic for a seed: every user's profile comes from `Random(f"{seed}:{user}")` and every day
from `Random(f"{seed}:{user}:{date}")`, so a month generates the same data whichever other months
are asked for. `generate_batches` yields one raw batch per user x record type x day (`profiles`,
`wearables`, and now and then a note from `notes`); `generate_corpus` runs the ETL writer over the
batches and corrupts a small share of lines the way real journals are corrupted; it returns the
ground truth tests need (counts, every PHI string injected into user notes). Beside a share of the
narratives it writes one question example (`etl/questions`), and for a share of the user-days with
two or more record types a day summary; question lines are never corrupted.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from random import Random

import orjson

from health_training.data.domains import RECORD_TYPES, category_for
from health_training.etl.journal import journal_key
from health_training.etl.notes import NOTES, corrupt_line, phi_note
from health_training.etl.profiles import make_profile, plan_day
from health_training.etl.questions import (
    KIND_WEIGHTS,
    write_day_stated,
    write_day_summary,
    write_question,
)
from health_training.etl.wearables import readings_for
from health_training.etl.writer import RawBatch, write_example

SLEEP = "SleepSessionRecord"
PLAIN_NOTE_SHARE = 0.03


@dataclass(frozen=True, slots=True)
class GeneratedCorpus:
    files: dict[str, bytes]  # journal_key -> JSONL bytes
    examples: int  # valid lines
    malformed: int  # corrupted lines
    phi_values: tuple[str, ...]  # every PHI string injected into a note, sorted


def _iter(
    months: Sequence[tuple[int, int]], users: int, seed: int, phi_note_share: float
) -> Iterator[tuple[RawBatch, tuple[str, ...]]]:
    profiles = [make_profile(seed, i) for i in range(users)]
    for year, month in months:
        for dom in range(1, calendar.monthrange(year, month)[1] + 1):
            day = date(year, month, dom)
            for p in profiles:
                rng = Random(f"{seed}:{p.user_id}:{day.isoformat()}")
                if rng.random() < 0.04:  # the user wore nothing that day
                    continue
                plan = plan_day(p, day, rng)
                for record_type in RECORD_TYPES:
                    if record_type not in p.devices or rng.random() < 0.03:
                        continue
                    readings = readings_for(record_type, p, day, plan, rng)
                    note, phi = None, ()
                    u = rng.random()
                    if u < phi_note_share:
                        note, phi = phi_note(rng, day)
                    elif u < phi_note_share + PLAIN_NOTE_SHARE:
                        note = rng.choice(NOTES[record_type])
                    key = (
                        f"raw/wearables/{p.user_id}/{record_type}/{year:04d}/{month:02d}/"
                        f"{day.isoformat()}.json"
                    )
                    yield RawBatch(p.user_id, record_type, day, readings, key, note), phi


def generate_batches(
    months: Sequence[tuple[int, int]], users: int, seed: int, *, phi_note_share: float = 0.02
) -> Iterator[RawBatch]:
    """One batch per user x record type x day (sleep: night), in month, day, user order."""
    for batch, _ in _iter(months, users, seed, phi_note_share):
        yield batch


def generate_corpus(
    months: Sequence[tuple[int, int]],
    users: int,
    seed: int,
    *,
    phi_note_share: float = 0.02,
    malformed_share: float = 0.005,
    category_map: Mapping[str, str] | None = None,
    question_share: float = 0.25,
    day_summary_share: float = 0.15,
) -> GeneratedCorpus:
    """The ETL journals for the batches, byte-for-byte reproducible, with their ground truth.

    `question_share` of the batches get one question example beside their narrative, of a kind
    drawn with `questions.KIND_WEIGHTS`; `day_summary_share` of the user-days with two or more
    record types get a day summary, and (drawn apart) as many a message stating that day's
    numbers, filed in the journal of the day's first record type."""
    # One growing buffer per file: millions of separate line objects fragment the heap (RSS
    # reached 6x the output that way).
    buffers: dict[str, bytearray] = {}
    count = 0
    phi_values: set[str] = set()
    malformed = 0
    where: dict[tuple[str, date], tuple[datetime, bytearray]] = {}  # per record type and day
    # The batches of the current user-day (the iteration yields them together) and the content
    # hash of the first one's narrative, which seeds the day-summary draw.
    day: list[RawBatch] = []
    day_hash = ""
    for batch, phi in _iter(months, users, seed, phi_note_share):
        if day and (day[0].user_id, day[0].day) != (batch.user_id, batch.day):
            count += _summarize_day(day, day_hash, day_summary_share, where, category_map)
            day = []
        if (batch.record_type, batch.day) not in where:
            offset = 2 if batch.record_type == SLEEP else 1  # the night ends the next morning
            processed = datetime.combine(batch.day + timedelta(days=offset), time(2), tzinfo=UTC)
            domain = category_for(batch.record_type, category_map)
            key = journal_key(domain, batch.day.year, batch.day.month)
            where[batch.record_type, batch.day] = processed, buffers.setdefault(key, bytearray())
        processed, buffer = where[batch.record_type, batch.day]
        record = write_example(batch, processed_at=processed, category_map=category_map)
        line = orjson.dumps(record)
        # Drawn from the example's own hash, so a month corrupts the same lines whichever other
        # months are generated. Lines carrying PHI stay intact: every value in phi_values then
        # sits in a valid example.
        draw = int(record["metadata"]["content_hash"][:13], 16)
        if not phi and draw < malformed_share * 16**13:
            line = corrupt_line(line, record, Random(draw))
            malformed += 1
        phi_values.update(phi)
        buffer += line
        buffer += b"\n"
        count += 1
        digest = record["metadata"]["content_hash"]
        if not day:
            day_hash = digest
        day.append(batch)
        # Drawn from the narrative's own hash, like the corruption: a month writes the same
        # questions whichever other months are generated.
        pick = Random(f"question:{digest}") if question_share > 0 else None
        if pick is not None and pick.random() < question_share:
            kind = pick.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
            question = write_question(
                batch,
                kind=kind,
                processed_at=processed,
                category_map=category_map,
                salt=digest[:16],
            )
            buffer += orjson.dumps(question)
            buffer += b"\n"
            count += 1
    if day:
        count += _summarize_day(day, day_hash, day_summary_share, where, category_map)
    files = {key: bytes(buffers.pop(key)) for key in sorted(buffers)}
    examples = count - malformed
    return GeneratedCorpus(files, examples, malformed, tuple(sorted(phi_values)))


def _summarize_day(
    day: list[RawBatch],
    day_hash: str,
    share: float,
    where: Mapping[tuple[str, date], tuple[datetime, bytearray]],
    category_map: Mapping[str, str] | None,
) -> int:
    """Append to the journal of the day's first record type a day summary of `day` (one user's
    batches of one day), for `share` of the user-days with two or more record types, and, drawn
    apart, a message stating that day's numbers for `share` of them; the number written."""
    if share <= 0 or len({b.record_type for b in day}) < 2:
        return 0
    processed, buffer = where[day[0].record_type, day[0].day]
    written = 0
    for name, write in (("day_summary", write_day_summary), ("day_stated", write_day_stated)):
        if Random(f"{name}:{day_hash}").random() >= share:
            continue
        example = write(day, processed_at=processed, category_map=category_map, salt=day_hash[:16])
        if example is not None:
            buffer += orjson.dumps(example)
            buffer += b"\n"
            written += 1
    return written


def generate_journal_files(
    months: Sequence[tuple[int, int]],
    users: int,
    seed: int,
    *,
    phi_note_share: float = 0.02,
    malformed_share: float = 0.005,
    category_map: Mapping[str, str] | None = None,
    question_share: float = 0.25,
    day_summary_share: float = 0.15,
) -> dict[str, bytes]:
    """`{journal_key: JSONL bytes}` per domain x month; see `generate_corpus` for ground truth."""
    return generate_corpus(
        months,
        users,
        seed,
        phi_note_share=phi_note_share,
        malformed_share=malformed_share,
        category_map=category_map,
        question_share=question_share,
        day_summary_share=day_summary_share,
    ).files
