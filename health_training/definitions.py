"""The one Dagster Definitions of health_training: assets, checks, jobs and resources.

Load it with `dagster dev -m health_training.definitions` (or `make dev`).
"""

import dagster as dg

from health_training import checks
from health_training.assets.datasets import openai_chat_dataset, training_dataset
from health_training.assets.emissions import emissions_report
from health_training.assets.feedback import feedback_examples
from health_training.assets.model import eval_report, lora_adapter
from health_training.assets.narratives import curated_narratives, raw_narratives
from health_training.assets.openai_model import openai_fine_tuned_model
from health_training.assets.registry import promote_model, registered_model
from health_training.jobs import dataset_job, monthly_data_job, training_job
from health_training.resources import (
    carbon_from_env,
    feedback_from_env,
    judge_from_env,
    mlflow_from_env,
    openai_from_env,
    phi_from_env,
    storage_from_env,
    training_from_env,
)
from health_training.schedules import monthly_retrain_schedule
from health_training.sensors import (
    drift_sensor,
    feedback_threshold_sensor,
    monthly_retrain_sensor,
    new_data_volume_sensor,
)

defs = dg.Definitions(
    assets=[
        feedback_examples,
        raw_narratives,
        curated_narratives,
        training_dataset,
        openai_chat_dataset,
        lora_adapter,
        eval_report,
        emissions_report,
        registered_model,
        openai_fine_tuned_model,
    ],
    asset_checks=[checks.min_examples_per_split, checks.split_leakage],
    jobs=[monthly_data_job, dataset_job, training_job, promote_model],
    sensors=[
        feedback_threshold_sensor,
        new_data_volume_sensor,
        drift_sensor,
        monthly_retrain_sensor,
    ],
    schedules=[monthly_retrain_schedule],
    resources={
        "storage": storage_from_env(),
        "phi": phi_from_env(),
        "training": training_from_env(),
        "mlflow": mlflow_from_env(),
        "carbon": carbon_from_env(),
        "judge": judge_from_env(),
        "feedback": feedback_from_env(),
        "openai": openai_from_env(),
    },
    executor=dg.in_process_executor,
)
