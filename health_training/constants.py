"""The names and defaults several parts of the platform share, each defined once.

Run tags and training reasons: sensors and schedules set them on the runs they request, the CLI
and the model server on the runs they start, `lora_adapter` reads the reason and sends it on to
MLflow, the GPU run launcher reads the GPU tag to place a run on a device. The registered model,
its MLflow experiment, the registry's aliases and the version and run tags that more than one
module reads or writes; the default answer length of a served model; the folder CodeCarbon
stages its files in. Dagster-free and import-free, so the launcher, the CLI and the model server
import it cheaply (`health_training_tests/test_constants.py` imports every name from here).
"""

from __future__ import annotations

# --- Dagster run tags -----------------------------------------------------------------------
GPU_TAG = "health_training/gpu"  # "1": the run needs a device; the launcher leases one
REASON_TAG = "health_training/reason"  # why a training run happens (one of TRAIN_REASONS)
TRIGGER_TAG = "health_training/trigger"  # what started a data run ("monthly": the schedule)
DRIFT_MONTH_TAG = "health_training/drift_month"  # the month whose drift requested a retrain
REQUESTED_BY_TAG = "health_training/requested_by"  # who asked (a person, a server API key id)
PREFERENCE_COUNT_TAG = "health_training/preference_examples"  # new rated answers behind a retrain
CORRECTION_COUNT_TAG = "health_training/corrections"  # new corrected answers behind a retrain
TRACE_TAG = "health_training/trace_id"  # the OpenTelemetry trace of the admin request
EXPECTED_END_TAG = "health_training/expected_end"  # when the run should end (defs/phase_clock.py)
# Written by the GPU pool launcher on a GPU run, read back to stop it or check its health.
DEVICES_TAG = "health_training/gpu_devices"
PID_TAG = "health_training/gpu_lease_pid"
HOST_TAG = "health_training/gpu_lease_host"

TRAIN_REASONS: tuple[str, ...] = (
    "monthly",
    "feedback_threshold",
    "data_volume",
    "drift",
    "manual",
)

# --- Dagster jobs that are started by name (CLI, model server) ------------------------------
TRAIN_JOB = "train_and_register"
EVALUATE_JOB = "evaluate_version"

# --- MLflow: the registered model, its experiment and aliases ---------------------------------
DEFAULT_MODEL_NAME = "health-query-olmo"  # every training registers a version of this model
DEFAULT_EXPERIMENT = "health-training"
STAGING, PRODUCTION = "staging", "production"
# The serving chain, in order (a request for the bare model name gets the first that is set).
ALIASES: tuple[str, ...] = (PRODUCTION, STAGING)

# --- MLflow tags that several modules write or read -------------------------------------------
GATE_TAG = "gate.decision"  # on a version: the promotion gate's decision, as JSON
APPROVED_BY_TAG = "promotion.approved_by"  # on a version: who moved production to it
PREVIOUS_PRODUCTION_TAG = "promotion.previous_production"  # on a version: what it replaced
DATASET_VERSION_RUN_TAG = "dataset_manifest_hash"  # on a training run: its dataset version
BASE_MODEL_RUN_TAG = "base_model"  # on a training run: the base its adapter was trained on
REASON_RUN_TAG = "reason"  # on a training run: why it happened (one of TRAIN_REASONS)

# --- Defaults -----------------------------------------------------------------------------
# The OpenAI provider's base model (priced in data/openai_chat.PRICE_TABLE), the suffix of the
# models it trains, and the optional LLM judge's model.
DEFAULT_OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
DEFAULT_OPENAI_SUFFIX = "health-query"
DEFAULT_JUDGE_MODEL = "gpt-4o-mini"
# Tokens a served model generates when a request names no limit (the registered pyfunc records
# the evaluation's own cap instead).
DEFAULT_MAX_NEW_TOKENS = 128
# CodeCarbon's working folder under the training cache (TrainingResource.runs_dir): its CSV is
# staged there and read back into the run's emissions JSON.
EMISSIONS_STAGING_DIR = "emissions-staging"


def training_tags(reason: str, **extra: str) -> dict[str, str]:
    """The tags every training run carries, however it was started (UI, CLI, sensor, schedule):
    the GPU tag the launcher places it by and the reason MLflow records."""
    if reason not in TRAIN_REASONS:
        raise ValueError(f"training reason {reason!r} is not one of {', '.join(TRAIN_REASONS)}")
    return {GPU_TAG: "1", REASON_TAG: reason, **extra}


# --- Evaluation ----------------------------------------------------------------------------------
# Answers decoded together by eval_report and the promotion gate: on the 2-core AMX CPU, 32 rows
# gave 1.22-1.34x the tokens/s of 16 on the demo model in bf16, with the same greedy answers
# (bench/README.md, decoding). Batch size is left out of the answer caches' keys.
EVAL_BATCH_SIZE = 32
