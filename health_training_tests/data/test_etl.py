"""The ETL narrative writer: statistics on hand-built readings, the example contract, journals."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta, timezone

import orjson
import pytest

from health_training.data.clinical import (
    Reading,
    SleepStage,
    analyze_calories,
    analyze_glucose,
    analyze_heart_rate,
    analyze_hrv,
    analyze_sleep,
    analyze_steps,
    count_events,
)
from health_training.data.domains import RECORD_TYPES
from health_training.data.etl import (
    INSTRUCTIONS,
    RawBatch,
    append_to_journal,
    journal_key,
    write_example,
)
from health_training.data.records import COMPLEXITY_LEVELS, ETL_METADATA_FIELDS, RELEVANCE_LEVELS

DAY = date(2025, 1, 3)
PROCESSED = datetime(2025, 1, 4, 2, 0, tzinfo=UTC)
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def series(values: list[float], step: int = 5, start: int = 0) -> tuple[Reading, ...]:
    return tuple(Reading(start + i * step, float(v)) for i, v in enumerate(values))


def hourly(values: list[float]) -> tuple[Reading, ...]:
    return series(values, step=60)


def night(*parts: tuple[str, int], start: int = 23 * 60) -> tuple[SleepStage, ...]:
    stages, t = [], start
    for stage, minutes in parts:
        stages.append(SleepStage(t, t + minutes, stage))
        t += minutes
    return tuple(stages)


GOOD_NIGHT = night(
    ("awake", 10), ("light", 200), ("deep", 80), ("rem", 120), ("awake", 20), ("light", 50)
)
READINGS = {
    "BloodGlucoseRecord": series([110 + (i % 12) * 8 for i in range(288)]),
    "HeartRateRecord": series([62 + (i % 7) for i in range(276)] + [175] * 12),
    "HeartRateVariabilityRmssdRecord": hourly([40 + (i % 5) for i in range(24)]),
    "SleepSessionRecord": GOOD_NIGHT,
    "StepsRecord": hourly([0] * 7 + [800] * 12 + [300] * 5),
    "ActiveCaloriesBurnedRecord": hourly([0] * 7 + [35] * 12 + [20] * 5),
}


def batch(
    record_type: str,
    readings: tuple,
    note: str | None = None,
    key: str = "raw/wearables/user_0007/x/2025/01/2025-01-03.json",
) -> RawBatch:
    return RawBatch("user_0007", record_type, DAY, readings, key, note)


def test_glucose_statistics_on_known_readings():
    # 96 values every 15 min: 48 in range, 24 above 180, 24 below 70 in two separate runs of 12.
    values = [100] * 24 + [60] * 12 + [100] * 24 + [200] * 24 + [60] * 12
    stats = analyze_glucose(series(values, step=15)).stats
    assert (stats.tir, stats.tar, stats.tbr) == (50, 25, 25)
    assert stats.interval == 15
    assert stats.hypo_events == 2
    assert stats.hyper_events == 0
    assert stats.mean == round(sum(values) / len(values))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([100, 60, 60, 100], 0),  # 10 min below 70: not an event
        ([100, 60, 60, 60, 100], 1),  # 15 min: an event
        ([60, 60, 60, 100, 60, 60, 60, 60], 2),
        ([60] * 288, 1),
    ],
)
def test_hypo_events_need_fifteen_minutes(values, expected):
    minutes = [i * 5 for i in range(len(values))]
    assert count_events(minutes, values, True, 70, 5) == expected


def test_a_sensor_gap_ends_a_run():
    minutes = [0, 5, 10, 60, 65, 70]  # two 15-min runs, 50 min apart
    assert count_events(minutes, [60.0] * 6, True, 70, 5) == 2


def test_heart_rate_resting_and_zones():
    stats = analyze_heart_rate(READINGS["HeartRateRecord"]).stats
    assert stats.resting == 62
    assert stats.peak == 175
    assert stats.zone_minutes == (0, 0, 0, 0, 60)  # 175 bpm is 92 % of 190: zone 5, 12 x 5 min


def test_hrv_trend_is_the_slope_per_hour():
    stats = analyze_hrv(hourly([30 + h for h in range(24)])).stats
    assert stats.slope == 1.0
    assert (stats.low, stats.high) == (30, 53)
    declining = analyze_hrv(hourly([60 - 2 * h for h in range(24)]))
    assert "declining_hrv" in {f.code for f in declining.findings}


def test_sleep_efficiency_latency_and_stages():
    stats = analyze_sleep(GOOD_NIGHT).stats
    assert stats.in_bed == 480
    assert stats.asleep == 450
    assert stats.efficiency == round(100 * 450 / 480)
    assert stats.latency == 10
    assert stats.minutes == {"awake": 30, "light": 250, "deep": 80, "rem": 120}
    assert stats.percent["deep"] == round(100 * 80 / 450)
    assert stats.percent["awake"] == round(100 * 30 / 480)


def test_steps_and_calories_against_their_goals():
    steps = analyze_steps(READINGS["StepsRecord"]).stats
    assert (steps.total, steps.percent_of_goal, steps.peak_hour, steps.active_hours) == (
        11_100,
        111,
        7,
        17,
    )
    assert analyze_steps(READINGS["StepsRecord"], goal=20_000).stats.percent_of_goal == 56
    kcal = analyze_calories(READINGS["ActiveCaloriesBurnedRecord"]).stats
    assert (kcal.total, kcal.goal, kcal.percent_of_goal, kcal.peak_hour) == (520, 500, 104, 7)


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


def test_nan_and_unsorted_readings_are_handled():
    values = [float("nan")] + [120.0] * 95
    analysis = analyze_glucose(tuple(reversed(series(values, step=15))))
    assert analysis.excluded == 1
    assert analysis.stats.mean == 120
    assert Reading(90, 1.0).at(DAY) == datetime(2025, 1, 3, 1, 30)


def test_append_accepts_one_blob_of_lines():
    lines = b"".join(orjson.dumps(r) + b"\n" for r in _examples(2))
    result = append_to_journal(b"", lines)
    assert (result.data, result.added) == (lines, 2)
    assert append_to_journal(result.data, lines).added == 0
