"""The jobs: monthly data (partitioned), dataset rebuild, and train-and-register."""

import dagster as dg

from health_training.constants import GPU_TAG, TRAIN_JOB
from health_training.defs.data.datasets import openai_chat_dataset, training_dataset
from health_training.defs.data.feedback_examples import feedback_examples
from health_training.defs.data.narratives import curated_narratives, raw_narratives
from health_training.defs.data.partitions import monthly_partitions
from health_training.defs.data.preference import preference_dataset
from health_training.defs.registry.assets import registered_model
from health_training.defs.training.adapter import lora_adapter
from health_training.defs.training.emissions import emissions_report
from health_training.defs.training.eval_report import eval_report

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
    TRAIN_JOB,
    selection=dg.AssetSelection.assets(
        feedback_examples,
        training_dataset,
        openai_chat_dataset,  # a new dataset version always gets its export (OpenAI provider)
        preference_dataset,  # rated answers for the profile's preference stage
        lora_adapter,
        eval_report,
        emissions_report,
        registered_model,
    ),
    description=(
        "Splits and preference data → LoRA adapter (SFT, then DPO/KTO on ratings when the "
        "profile asks) → evaluation → emissions → MLflow registration (staging)."
    ),
    # The GPU launcher places runs with this tag; tag concurrency limits queue the extra ones.
    tags={GPU_TAG: "1"},
)
