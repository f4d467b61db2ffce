"""The ETL narrative writer: the example contract, its numbers, hash, scores and determinism."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from health_training.data.domains import RECORD_TYPES
from health_training.data.records import COMPLEXITY_LEVELS, ETL_METADATA_FIELDS, RELEVANCE_LEVELS
from health_training.etl.clinical_types import Reading
from health_training.etl.writer import INSTRUCTIONS, write_example
from health_training_tests.etl.samples import (
    GOOD_NIGHT,
    PROCESSED,
    READINGS,
    batch,
    hourly,
    night,
    series,
)

NUMBER = re.compile(r"\d+(?:\.\d+)?")


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_example_contract(record_type):
    ex = write_example(batch(record_type, READINGS[record_type]), processed_at=PROCESSED)
    assert set(ex) == {"instruction", "input", "output", "metadata"}
    meta = ex["metadata"]
    assert list(meta) == [*ETL_METADATA_FIELDS, "content_hash"]
    assert meta["record_type"] == record_type
    assert meta["complexity_level"] in COMPLEXITY_LEVELS
    assert meta["clinical_relevance"] in RELEVANCE_LEVELS
    assert meta["records_processed"] == len(READINGS[record_type])
    assert isinstance(meta["quality_score"], float) and 0.0 <= meta["quality_score"] <= 1.0
    assert meta["clinical_insights"] and all(isinstance(s, str) for s in meta["clinical_insights"])
    assert meta["processing_timestamp"] == "2025-01-04T02:00:00Z"
    assert re.fullmatch(r"[0-9a-f]{64}", meta["content_hash"])
    assert 300 <= len(ex["output"]) <= 900
    assert ex["input"].startswith(f"Record type: {record_type}.")
    assert ex["instruction"] in INSTRUCTIONS[record_type]


@pytest.mark.parametrize("record_type", [*RECORD_TYPES, "BodyTemperatureRecord"])
@pytest.mark.parametrize("variant", ["clean", "gappy", "noisy"])
def test_every_number_in_the_output_is_in_the_input(record_type, variant):
    readings = READINGS.get(record_type, hourly([36.6 + i / 10 for i in range(24)]))
    if variant == "gappy":
        readings = readings[: len(readings) // 3]
    elif variant == "noisy" and record_type != "SleepSessionRecord":
        readings = (*readings[1:], Reading(readings[0].minute, 99_999.0))
    ex = write_example(
        batch(record_type, readings, note="felt dizzy after lunch"), processed_at=PROCESSED
    )
    assert set(NUMBER.findall(ex["output"])) <= set(NUMBER.findall(ex["input"]))


def test_content_hash_is_sha256_of_canonical_json():
    ex = write_example(batch("StepsRecord", READINGS["StepsRecord"]), processed_at=PROCESSED)
    doc = {
        "instruction": ex["instruction"],
        "input": ex["input"],
        "output": ex["output"],
        "source_key": ex["metadata"]["source_key"],
    }
    expected = hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert ex["metadata"]["content_hash"] == expected


def test_writer_is_deterministic_and_instructions_vary_with_the_source():
    first = write_example(batch("StepsRecord", READINGS["StepsRecord"]), processed_at=PROCESSED)
    again = write_example(batch("StepsRecord", READINGS["StepsRecord"]), processed_at=PROCESSED)
    assert orjson.dumps(first) == orjson.dumps(again)
    chosen = {
        write_example(
            batch("StepsRecord", READINGS["StepsRecord"], key=f"k{i}"), processed_at=PROCESSED
        )["instruction"]
        for i in range(40)
    }
    assert len(chosen) >= 3
    assert all(len(set(phrasings)) >= 4 for phrasings in INSTRUCTIONS.values())


def test_timestamps_are_utc_with_z():
    eastern = timezone(timedelta(hours=-5))
    ex = write_example(
        batch("StepsRecord", READINGS["StepsRecord"]),
        processed_at=datetime(2025, 1, 3, 21, 30, tzinfo=eastern),
    )
    assert ex["metadata"]["processing_timestamp"] == "2025-01-04T02:30:00Z"
    naive = write_example(
        batch("StepsRecord", READINGS["StepsRecord"]), processed_at=datetime(2025, 1, 4, 2)
    )
    assert naive["metadata"]["processing_timestamp"] == "2025-01-04T02:00:00Z"


def test_note_is_copied_verbatim_into_input_only():
    note = "Dr. Mei Patel (217) 555-0142 said to log this"
    ex = write_example(
        batch("HeartRateRecord", READINGS["HeartRateRecord"], note=note), processed_at=PROCESSED
    )
    assert ex["input"].endswith(f"User note: {note}")
    assert note not in ex["output"]


def test_gaps_and_sensor_errors_lower_quality():
    full = READINGS["BloodGlucoseRecord"]
    gappy = full[:100] + full[200:]  # an 8-hour sensor gap
    errors = tuple(Reading(r.minute, 0.0) if i % 10 == 0 else r for i, r in enumerate(full))
    score = {
        name: write_example(batch("BloodGlucoseRecord", readings), processed_at=PROCESSED)[
            "metadata"
        ]["quality_score"]
        for name, readings in (("full", full), ("gappy", gappy), ("errors", errors))
    }
    assert score["full"] == 1.0
    assert score["gappy"] < 0.7 < score["full"]
    assert score["errors"] < score["full"]
    sparse_night = GOOD_NIGHT[:2] + GOOD_NIGHT[4:]  # the deep and REM segments were lost
    sleep = write_example(batch("SleepSessionRecord", sparse_night), processed_at=PROCESSED)
    assert sleep["metadata"]["quality_score"] < 0.7


def test_findings_drive_relevance_and_complexity():
    steady = write_example(
        batch("BloodGlucoseRecord", series([105 + i % 3 for i in range(288)])),
        processed_at=PROCESSED,
    )["metadata"]
    assert (steady["clinical_relevance"], steady["complexity_level"]) == ("standard", "low")
    with_hypo = [105.0] * 288
    with_hypo[100:106] = [58.0] * 6  # 30 min below 70 mg/dL
    hypo = write_example(batch("BloodGlucoseRecord", series(with_hypo)), processed_at=PROCESSED)[
        "metadata"
    ]
    assert hypo["clinical_relevance"] == "high"
    assert hypo["complexity_level"] in ("moderate", "high")
    assert any("hypoglycemic" in s for s in hypo["clinical_insights"])
    poor = write_example(
        batch("BloodGlucoseRecord", series([60, 150, 280, 320] * 72)), processed_at=PROCESSED
    )["metadata"]
    assert (poor["clinical_relevance"], poor["complexity_level"]) == ("high", "high")
    short = write_example(
        batch("SleepSessionRecord", night(("awake", 50), ("light", 200), ("rem", 40))),
        processed_at=PROCESSED,
    )
    assert short["metadata"]["clinical_relevance"] == "high"


def test_unknown_record_types_go_to_general_health():
    ex = write_example(batch("BodyTemperatureRecord", hourly([36.6] * 24)), processed_at=PROCESSED)
    assert ex["metadata"]["training_category"] == "general_health"
    assert ex["metadata"]["clinical_relevance"] == "standard"
    assert 300 <= len(ex["output"]) <= 900
    renamed = write_example(
        batch("SleepSessionRecord", GOOD_NIGHT),
        processed_at=PROCESSED,
        category_map={"SleepSessionRecord": "sleep_wellness"},
    )
    assert renamed["metadata"]["training_category"] == "sleep_wellness"


@pytest.mark.parametrize("readings", [(), (Reading(0, -5.0), Reading(5, 9999.0))])
def test_no_usable_readings_still_yield_a_valid_example(readings):
    ex = write_example(batch("HeartRateRecord", readings), processed_at=PROCESSED)
    assert ex["metadata"]["quality_score"] == 0.0
    assert ex["metadata"]["records_processed"] == len(readings)
    assert 300 <= len(ex["output"]) <= 900
