"""Where each stage's files live in the data lake (local folder or S3 bucket), in one place.

training/{domain}/{yyyy}/{mm}/health_journal_{yyyy}_{mm}.jsonl   ETL input (+ .quarantine.jsonl)
stage/raw/{yyyy-mm}/accepted.jsonl, summary.json                 raw_narratives
stage/curated/{yyyy-mm}/examples.jsonl, keys.txt, summary.json   curated_narratives
datasets/training/{version}/{split}.parquet, manifest.json       training_dataset
datasets/training/history.jsonl                                  every version built (append-only)
datasets/openai/{version}/{split}.jsonl, report.json             openai_chat_dataset
datasets/preference/{version}/examples.jsonl, manifest.json      preference_dataset
evaluations/base/{key}.json                                      eval_report's base answers
"""

from __future__ import annotations

TRAINING_PREFIX = "training/"
CURATED_PREFIX = "stage/curated/"
DATASET_PREFIX = "datasets/training/"
DATASET_HISTORY = DATASET_PREFIX + "history.jsonl"


def month_of_input(key: str) -> str | None:
    """`training/x/2025/03/f.jsonl` → `2025-03` (None for keys outside the layout)."""
    parts = key.split("/")
    if len(parts) == 5 and parts[0] == "training" and parts[2].isdigit() and parts[3].isdigit():
        return f"{parts[2]}-{parts[3]}"
    return None


def raw_accepted(month: str) -> str:
    return f"stage/raw/{month}/accepted.jsonl"


def raw_summary(month: str) -> str:
    return f"stage/raw/{month}/summary.json"


def curated_examples(month: str) -> str:
    return f"{CURATED_PREFIX}{month}/examples.jsonl"


def curated_keys(month: str) -> str:
    return f"{CURATED_PREFIX}{month}/keys.txt"


def curated_summary(month: str) -> str:
    return f"{CURATED_PREFIX}{month}/summary.json"


def dataset_split(version: str, split: str) -> str:
    return f"{DATASET_PREFIX}{version}/{split}.parquet"


def dataset_manifest(version: str) -> str:
    return f"{DATASET_PREFIX}{version}/manifest.json"


def openai_split(version: str, split: str) -> str:
    return f"datasets/openai/{version}/{split}.jsonl"


def openai_report(version: str) -> str:
    return f"datasets/openai/{version}/report.json"


def dataset_profile(version: str) -> str:
    """The train split's drift baseline (category mix, lengths, vocabulary)."""
    return f"{DATASET_PREFIX}{version}/profile.json"


def curated_drift(month: str) -> str:
    return f"{CURATED_PREFIX}{month}/drift.json"


FEEDBACK_EXAMPLES = "datasets/feedback/examples.jsonl"
PREFERENCE_PREFIX = "datasets/preference/"


def preference_examples(version: str) -> str:
    """A preference dataset version's KTO examples and DPO pairs (ml/preference/examples.py)."""
    return f"{PREFERENCE_PREFIX}{version}/examples.jsonl"


def preference_manifest(version: str) -> str:
    return f"{PREFERENCE_PREFIX}{version}/manifest.json"


def base_answers(key: str) -> str:
    """A base model's answers to one test sample under one decoding (eval_run.base_cache_key)."""
    return f"evaluations/base/{key}.json"


# Model artifacts, one folder per training run identity (see ml/train.run_identity):
# models/runs/{identity}/adapter/..., checkpoints/checkpoint-N/..., train_result.json,
# emissions_training.json, loss_curve.png, eval/..., emissions_evaluation.json, emissions/...
MODEL_RUNS_PREFIX = "models/runs/"
THROUGHPUT_HISTORY = "models/throughput.jsonl"  # measured tokens/s per base, for estimates
EMISSIONS_HISTORY = "models/emissions_history.jsonl"  # every run's footprint, for the report


def model_run(identity: str, name: str = "") -> str:
    """A training run's folder (or a file or subfolder in it) in the storage resource."""
    return f"{MODEL_RUNS_PREFIX}{identity}/{name}" if name else f"{MODEL_RUNS_PREFIX}{identity}"
