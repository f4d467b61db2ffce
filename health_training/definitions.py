"""The one Dagster Definitions of health_training: assets, checks, jobs and resources.

Load it with `dagster dev -m health_training.definitions` (or `make dev`).
"""

import dagster as dg

from health_training import checks
from health_training.assets.datasets import openai_chat_dataset, training_dataset
from health_training.assets.emissions import emissions_report
from health_training.assets.model import eval_report, lora_adapter
from health_training.assets.narratives import curated_narratives, raw_narratives
from health_training.assets.registry import promote_model, registered_model
from health_training.partitions import monthly_partitions
from health_training.resources import (
    carbon_from_env,
    judge_from_env,
    mlflow_from_env,
    phi_from_env,
    storage_from_env,
    training_from_env,
)

monthly_data_job = dg.define_asset_job(
    "monthly_data",
    selection=dg.AssetSelection.assets(raw_narratives, curated_narratives),
    partitions_def=monthly_partitions,
    description="Ingest and curate one month (or a range of months, in one run).",
)

dataset_job = dg.define_asset_job(
    "dataset",
    selection=dg.AssetSelection.assets(training_dataset, openai_chat_dataset),
    description="Rebuild the training splits and the OpenAI export from every curated month.",
)

training_job = dg.define_asset_job(
    "train_and_register",
    selection=dg.AssetSelection.assets(
        training_dataset, lora_adapter, eval_report, emissions_report, registered_model
    ),
    description="Splits → LoRA adapter → evaluation → emissions → MLflow registration (staging).",
    tags={"health_training/gpu": "1"},
)

defs = dg.Definitions(
    assets=[
        raw_narratives,
        curated_narratives,
        training_dataset,
        openai_chat_dataset,
        lora_adapter,
        eval_report,
        emissions_report,
        registered_model,
    ],
    asset_checks=[checks.min_examples_per_split, checks.split_leakage],
    jobs=[monthly_data_job, dataset_job, training_job, promote_model],
    resources={
        "storage": storage_from_env(),
        "phi": phi_from_env(),
        "training": training_from_env(),
        "mlflow": mlflow_from_env(),
        "carbon": carbon_from_env(),
        "judge": judge_from_env(),
    },
    executor=dg.in_process_executor,
)
