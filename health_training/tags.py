"""Run tags and training reasons: the names several parts of the platform share, defined once.

Sensors and schedules set them on the runs they request, the CLI and the model server on the runs
they start, `lora_adapter` reads the reason and sends it on to MLflow, the GPU run launcher reads
the GPU tag to place a run on a device. Dagster-free, so the launcher and the CLI import it cheaply.
"""

from __future__ import annotations

GPU_TAG = "health_training/gpu"  # "1": the run needs a device; the launcher leases one
REASON_TAG = "health_training/reason"  # why a training run happens (one of TRAIN_REASONS)
TRIGGER_TAG = "health_training/trigger"  # what started a data run ("monthly": the schedule)
DRIFT_MONTH_TAG = "health_training/drift_month"  # the month whose drift requested a retrain
REQUESTED_BY_TAG = "health_training/requested_by"  # who asked (a person, a server API key id)
PREFERENCE_COUNT_TAG = "health_training/preference_examples"  # new rated answers behind a retrain
CORRECTION_COUNT_TAG = "health_training/corrections"  # new corrected answers behind a retrain

TRAIN_REASONS: tuple[str, ...] = (
    "monthly",
    "feedback_threshold",
    "data_volume",
    "drift",
    "manual",
)


def training_tags(reason: str, **extra: str) -> dict[str, str]:
    """The tags every training run carries, however it was started (UI, CLI, sensor, schedule):
    the GPU tag the launcher places it by and the reason MLflow records."""
    if reason not in TRAIN_REASONS:
        raise ValueError(f"training reason {reason!r} is not one of {', '.join(TRAIN_REASONS)}")
    return {GPU_TAG: "1", REASON_TAG: reason, **extra}
