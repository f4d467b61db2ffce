"""Run config of the data assets: which policy YAML, and the few overrides people change most."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from health_training.data.config import DataConfig, load_data_config


class DataPolicyConfig(dg.Config):
    """Which data policy YAML to use, with the few overrides people change most."""

    config_path: str | None = Field(
        default=None, description="Data policy YAML; default: the bundled configs/data.yaml."
    )
    format: str | None = Field(
        default=None, description="auto | etl | alpaca | sharegpt | openai (overrides the YAML)."
    )
    min_quality_score: float | None = Field(
        default=None, description="Override filters.min_quality_score."
    )

    def load(self) -> DataConfig:
        overrides = {}
        if self.format:
            overrides["ingest.format"] = self.format
        if self.min_quality_score is not None:
            overrides["filters.min_quality_score"] = self.min_quality_score
        return load_data_config(self.config_path, **overrides)
