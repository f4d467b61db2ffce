"""Resources: where data lives (local folder or S3), the PHI secret, and the one place that reads
the environment to choose between them.

`HEALTH_TRAINING_HOME` (default `./var`) roots all runtime state. `HEALTH_TRAINING_STORAGE=s3`
with `HEALTH_TRAINING_S3_BUCKET` (and optionally `HEALTH_TRAINING_S3_PREFIX`, `AWS_ENDPOINT_URL`
for MinIO) moves the data lake to S3. `HEALTH_TRAINING_ENV=production` makes the pseudonym key
(`HEALTH_TRAINING_PSEUDONYM_KEY`) mandatory.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from health_training.data.phi import Pseudonymizer
from health_training.files import write_atomic

# Development pseudonyms are stable but not secret; production refuses to run without a key.
_DEV_KEY = b"health-training-development-pseudonym-key"


def home() -> Path:
    """The root of all runtime state: data lake, Dagster storage, models, MLflow."""
    return Path(os.environ.get("HEALTH_TRAINING_HOME", "var")).resolve()


class Storage(dg.ConfigurableResource, ABC):
    """Keyed blob storage for the data lake; keys look like `training/metabolic_diabetes/...`."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Atomic: readers see the old object or the new one, never a partial write."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def uri(self, key: str) -> str:
        """A location a person or another tool can open."""

    def read_optional(self, key: str) -> bytes | None:
        return self.read_bytes(key) if self.exists(key) else None


class LocalStorage(Storage):
    """A folder on this machine (the default, under HEALTH_TRAINING_HOME/lake)."""

    root: str = Field(description="Folder that holds the data lake.")

    def _path(self, key: str) -> Path:
        root = Path(self.root).resolve()
        path = (root / key).resolve()
        if root != path and root not in path.parents:
            raise ValueError(f"key {key!r} escapes the storage root {root}")
        return path

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.uri(key)} does not exist") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)

    def list_keys(self, prefix: str) -> list[str]:
        root = Path(self.root).resolve()
        base = self._path(prefix) if prefix else root
        if base.is_file():
            return [prefix]
        if not base.exists():
            return []
        return sorted(
            p.relative_to(root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.endswith(".tmp")
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str) -> str:
        return str(self._path(key))


class S3Storage(Storage):
    """An S3 bucket (or MinIO / any S3 endpoint via the S3 resource's endpoint_url)."""

    bucket: str = Field(description="Bucket that holds the data lake.")
    prefix: str = Field(default="", description="Key prefix inside the bucket, e.g. 'health/'.")
    s3: S3Resource
    _client: object = PrivateAttr(default=None)

    def _c(self):
        # Building a boto3 client costs ~0.3 s: make one per resource instance, not per call.
        if self._client is None:
            self._client = self.s3.get_client()
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix.rstrip('/')}/{key}" if self.prefix else key

    def read_bytes(self, key: str) -> bytes:
        client = self._c()
        try:
            return client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"{self.uri(key)} does not exist") from None

    def write_bytes(self, key: str, data: bytes) -> None:
        # A single PUT is atomic in S3: the object appears whole or not at all.
        self._c().put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def list_keys(self, prefix: str) -> list[str]:
        paginator = self._c().get_paginator("list_objects_v2")
        full = self._key(prefix)
        strip = len(self._key(""))
        keys = [
            obj["Key"][strip:]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full)
            for obj in page.get("Contents", [])
        ]
        return sorted(keys)

    def exists(self, key: str) -> bool:
        client = self._c()
        try:
            client.head_object(Bucket=self.bucket, Key=self._key(key))
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self._c().delete_object(Bucket=self.bucket, Key=self._key(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


class PhiResource(dg.ConfigurableResource):
    """The keyed pseudonymizer for user ids (HMAC-SHA256)."""

    environment: str = Field(default="development", description="development or production")
    pseudonym_key: str = Field(
        default="", description="Secret HMAC key; from HEALTH_TRAINING_PSEUDONYM_KEY."
    )

    def pseudonymizer(self) -> Pseudonymizer:
        if self.pseudonym_key:
            return Pseudonymizer(self.pseudonym_key.encode())
        if self.environment == "production":
            raise ValueError(
                "HEALTH_TRAINING_PSEUDONYM_KEY is not set: production mode needs a secret key of "
                "at least 16 bytes to pseudonymize user ids (e.g. `openssl rand -hex 32`)."
            )
        return Pseudonymizer(_DEV_KEY)


def storage_from_env() -> Storage:
    """Local folder by default; S3 when HEALTH_TRAINING_STORAGE=s3."""
    if os.environ.get("HEALTH_TRAINING_STORAGE", "local") == "s3":
        return S3Storage(
            bucket=dg.EnvVar("HEALTH_TRAINING_S3_BUCKET"),
            prefix=os.environ.get("HEALTH_TRAINING_S3_PREFIX", ""),
            s3=S3Resource(endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None),
        )
    return LocalStorage(root=str(home() / "lake"))


def phi_from_env() -> PhiResource:
    """Production always reads the key through dg.EnvVar (a missing one is a launch error);
    development uses it when set and a fixed, non-secret key otherwise."""
    environment = os.environ.get("HEALTH_TRAINING_ENV", "development")
    if environment == "production" or "HEALTH_TRAINING_PSEUDONYM_KEY" in os.environ:
        return PhiResource(
            environment=environment, pseudonym_key=dg.EnvVar("HEALTH_TRAINING_PSEUDONYM_KEY")
        )
    return PhiResource(environment=environment)


def tiktoken_cache_dir() -> str | None:
    """tiktoken's own cache variable; tokens are counted approximately when the file is absent."""
    return os.environ.get("TIKTOKEN_CACHE_DIR")


class TrainingResource(dg.ConfigurableResource):
    """Where models, training runs and reports live, and the default training profile."""

    home: str = Field(description="HEALTH_TRAINING_HOME: models/, training/ and reports live here.")
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
    artifact_location: str
    experiment: str = "health-training"
    model_name: str = "health-query-olmo"

    _registry: object = PrivateAttr(default=None)

    def registry(self):
        """The `ml.registry.Registry` for these settings (one client per resource instance)."""
        if self._registry is None:
            from health_training.ml.registry import Registry

            self._registry = Registry(
                self.tracking_uri,
                self.artifact_location or None,
                experiment=self.experiment,
                model_name=self.model_name,
            )
        return self._registry


class CarbonResource(dg.ConfigurableResource):
    """CodeCarbon settings: the grid the run draws from and the per-run budget."""

    country_iso_code: str = Field(default="USA", description="ISO-3 country of the machine's grid.")
    budget_kg: float = Field(
        default=3.0, description="kg CO2eq a training run may emit (blocking)."
    )
    gpu_ids: list[int] | None = Field(
        default=None, description="GPUs to meter (None: all visible)."
    )


class JudgeResource(dg.ConfigurableResource):
    """Optional LLM judge on any OpenAI-compatible endpoint; skipped when not configured."""

    base_url: str = ""
    api_key: str = ""
    model: str = "gpt-4o-mini"


def training_from_env() -> TrainingResource:
    return TrainingResource(
        home=str(home()), profile=os.environ.get("HEALTH_TRAINING_PROFILE", "cpu_demo")
    )


def mlflow_from_env() -> MlflowResource:
    root = home() / "mlflow"
    return MlflowResource(
        tracking_uri=os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}"),
        artifact_location=os.environ.get(
            "HEALTH_TRAINING_MLFLOW_ARTIFACTS", str(root / "artifacts")
        ),
    )


def carbon_from_env() -> CarbonResource:
    return CarbonResource(country_iso_code=os.environ.get("HEALTH_TRAINING_CARBON_COUNTRY", "USA"))


def judge_from_env() -> JudgeResource:
    if "HEALTH_TRAINING_JUDGE_API_KEY" in os.environ:
        return JudgeResource(
            base_url=os.environ.get("HEALTH_TRAINING_JUDGE_BASE_URL", ""),
            api_key=dg.EnvVar("HEALTH_TRAINING_JUDGE_API_KEY"),
            model=os.environ.get("HEALTH_TRAINING_JUDGE_MODEL", "gpt-4o-mini"),
        )
    return JudgeResource()


class FeedbackResource(dg.ConfigurableResource):
    """Ratings of model answers: SQLite under HEALTH_TRAINING_HOME by default, Postgres by URL."""

    url: str = Field(
        description="SQLAlchemy URL, e.g. sqlite:////data/feedback.db or postgresql://..."
    )

    _store: object = PrivateAttr(default=None)

    def store(self):
        # One store (engine + schema check) per resource instance, not one per sensor tick.
        if self._store is None:
            from health_training.feedback_store import FeedbackStore

            self._store = FeedbackStore(self.url)
        return self._store


def feedback_from_env() -> FeedbackResource:
    url = os.environ.get("HEALTH_TRAINING_FEEDBACK_URL") or f"sqlite:///{home() / 'feedback.db'}"
    return FeedbackResource(url=url)


def openai_from_env():
    """The OpenAI fine-tuning provider's client settings; the key only through dg.EnvVar."""
    from health_training.assets.openai_model import OpenAIResource

    if "OPENAI_API_KEY" in os.environ:
        return OpenAIResource(
            base_url=os.environ.get("OPENAI_BASE_URL", ""), api_key=dg.EnvVar("OPENAI_API_KEY")
        )
    return OpenAIResource(base_url=os.environ.get("OPENAI_BASE_URL", ""))
