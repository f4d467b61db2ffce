"""The platform's other resources: training settings, MLflow, carbon, the LLM judge, the feedback
store and the OpenAI fine-tuning endpoint. Plain settings; clients are built on first use, one
per resource instance (never one per sensor tick)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from health_training.constants import (
    DEFAULT_EXPERIMENT,
    DEFAULT_JUDGE_MODEL,
    DEFAULT_MODEL_NAME,
    DEFAULT_OPENAI_MODEL,
)


class TrainingResource(dg.ConfigurableResource):
    """Where base models and the local cache of training runs live, and the default profile.

    Adapters, checkpoints and reports are kept in the storage resource; `runs_dir` is a cache
    that a new pod may find empty."""

    home: str = Field(description="HEALTH_TRAINING_HOME: models/ and the training cache live here.")
    profile: str = Field(default="cpu_demo", description="Training profile when a run names none.")

    @property
    def models_dir(self) -> Path:
        return Path(self.home) / "models"

    @property
    def runs_dir(self) -> Path:
        return Path(self.home) / "training"


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and registry (SQLite under HEALTH_TRAINING_HOME by default)."""

    tracking_uri: str
    artifact_location: str = ""
    experiment: str = DEFAULT_EXPERIMENT
    model_name: str = DEFAULT_MODEL_NAME

    _registry: Any = PrivateAttr(default=None)

    def registry(self) -> Any:
        """The `ml.registry.tracking.Registry` for these settings (one client per resource instance)."""
        if self._registry is None:
            from health_training.ml.registry.tracking import Registry

            self._registry = Registry(
                self.tracking_uri,
                self.artifact_location or None,
                experiment=self.experiment,
                model_name=self.model_name,
            )
        return self._registry


class CarbonResource(dg.ConfigurableResource):
    """CodeCarbon settings: the grid the run draws from. The per-run budget is a promotion
    policy (configs/promotion.yaml, `carbon_budget_kg`)."""

    country_iso_code: str = Field(default="USA", description="ISO-3 country of the machine's grid.")
    gpu_ids: list[int] | None = Field(default=None, description="GPUs to meter (None: all).")


class JudgeResource(dg.ConfigurableResource):
    """Optional LLM judge on any OpenAI-compatible endpoint; skipped when not configured."""

    base_url: str = ""
    api_key: str = ""
    model: str = DEFAULT_JUDGE_MODEL


class FeedbackResource(dg.ConfigurableResource):
    """Ratings of model answers: SQLite under HEALTH_TRAINING_HOME by default, Postgres by URL."""

    url: str = Field(
        description="SQLAlchemy URL, e.g. sqlite:////data/feedback.db or postgresql://..."
    )

    _store: Any = PrivateAttr(default=None)

    def store(self) -> Any:
        if self._store is None:
            from health_training.stores.feedback_store import FeedbackStore

            self._store = FeedbackStore(self.url)
        return self._store


class OpenAIResource(dg.ConfigurableResource):
    """An OpenAI (or OpenAI-compatible) fine-tuning endpoint and how long to wait for a job."""

    base_url: str = Field(default="", description="API base URL; empty: api.openai.com.")
    api_key: str = Field(default="", description="API key, via dg.EnvVar('OPENAI_API_KEY').")
    model: str = Field(
        default=DEFAULT_OPENAI_MODEL,
        description="Base model to fine-tune; must be priced in openai_chat.PRICE_TABLE.",
    )
    poll_interval_s: float = Field(
        default=15.0, description="First wait between status polls; doubles each poll."
    )
    max_poll_interval_s: float = Field(default=120.0, description="Cap on the wait between polls.")
    deadline_s: float = Field(
        default=8 * 3600.0, description="Cancel the job and fail if it has not finished by then."
    )
    request_timeout_s: float = Field(default=60.0, description="Timeout of one API request.")
    max_retries: int = Field(default=2, description="Client retries of a failed API request.")

    def client(self) -> Any:
        if not self.api_key:
            raise dg.Failure(
                "OpenAIResource.api_key is empty: set OPENAI_API_KEY (passed as "
                "dg.EnvVar('OPENAI_API_KEY')) to the key of the account that pays for training"
            )
        import openai

        return openai.OpenAI(
            base_url=self.base_url or None,
            api_key=self.api_key,
            timeout=self.request_timeout_s,
            max_retries=self.max_retries,
        )
