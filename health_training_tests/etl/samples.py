"""Hand-built readings and batches the ETL tests share: a clean day of every record type."""

from __future__ import annotations

from datetime import UTC, date, datetime

from health_training.etl.clinical_types import Reading, SleepStage
from health_training.etl.writer import RawBatch

DAY = date(2025, 1, 3)
PROCESSED = datetime(2025, 1, 4, 2, 0, tzinfo=UTC)


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
