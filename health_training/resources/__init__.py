"""Dagster resources: storage (local or S3), the pseudonym secret, training settings, MLflow,
carbon, the LLM judge, the feedback store and the OpenAI endpoint. `environment.py` is the one
module that reads the environment to choose and configure them."""

from health_training.resources.environment import (
    carbon_from_env,
    feedback_from_env,
    home,
    judge_from_env,
    mlflow_from_env,
    openai_from_env,
    phi_from_env,
    resources_from_env,
    storage_from_env,
    tiktoken_cache_dir,
    training_from_env,
)
from health_training.resources.phi import PhiResource, key_fingerprint
from health_training.resources.services import (
    CarbonResource,
    FeedbackResource,
    JudgeResource,
    MlflowResource,
    OpenAIResource,
    TrainingResource,
)
from health_training.resources.storage import LocalStorage, Storage

__all__ = [
    "CarbonResource",
    "FeedbackResource",
    "JudgeResource",
    "LocalStorage",
    "MlflowResource",
    "OpenAIResource",
    "PhiResource",
    "Storage",
    "TrainingResource",
    "carbon_from_env",
    "feedback_from_env",
    "home",
    "judge_from_env",
    "key_fingerprint",
    "mlflow_from_env",
    "openai_from_env",
    "phi_from_env",
    "resources_from_env",
    "storage_from_env",
    "tiktoken_cache_dir",
    "training_from_env",
]
