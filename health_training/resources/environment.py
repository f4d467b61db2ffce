"""The one place that reads the environment: it chooses and configures every resource.

`HEALTH_TRAINING_HOME` (default `./var`) roots all runtime state. `HEALTH_TRAINING_STORAGE=s3`
with `HEALTH_TRAINING_S3_BUCKET` (and `HEALTH_TRAINING_S3_PREFIX`, `AWS_ENDPOINT_URL` for MinIO)
moves the data lake and the model artifacts to S3. `HEALTH_TRAINING_ENV=production` makes the
pseudonym key (`HEALTH_TRAINING_PSEUDONYM_KEY`) mandatory; secrets only ever go through
`dg.EnvVar`, so their values are read at run time and never stored in a definition.

Two callers, one set of values: `resources_from_env()` gives the definitions resources that still
hold `dg.EnvVar`s (Dagster puts the values in when a run initializes them); `storage_from_env()`
and `phi_from_env()`, what code outside a run uses (the CLI, the model server, the clinic), build
the same resources and resolve them with Dagster's own config processing (`resolved`), so a
pseudonym or a bucket is the same in a run and out of it. The judge's and OpenAI's keys are only
ever read inside runs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg

from health_training.constants import DEFAULT_JUDGE_MODEL
from health_training.resources.phi import KEY_ENV as PSEUDONYM_KEY_ENV
from health_training.resources.phi import PhiResource
from health_training.resources.services import (
    CarbonResource,
    FeedbackResource,
    JudgeResource,
    MlflowResource,
    OpenAIResource,
    TrainingResource,
)
from health_training.resources.storage import BUCKET_ENV, LocalStorage, Storage

R = TypeVar("R", bound=dg.ConfigurableResource)


def home() -> Path:
    """The root of all runtime state: data lake, Dagster storage, models, MLflow."""
    return Path(os.environ.get("HEALTH_TRAINING_HOME", "var")).resolve()


def resolved(resource: R) -> R:
    """`resource` as a run gets it: every `dg.EnvVar` replaced by its value.

    Outside a run nothing resolves them, and a field would hold the variable's *name*: a bucket
    literally called HEALTH_TRAINING_S3_BUCKET, or pseudonyms keyed with that string.
    """
    try:
        # The _cm form: nested resources (S3Storage's S3Resource) refuse the plain one; none of
        # ours tears anything down, so leaving the context at once is safe.
        with resource.process_config_and_initialize_cm() as value:
            return value
    except dg.DagsterInvalidConfigError as exc:
        unset = re.findall(r'environment variable "(\w+)" which is not set', str(exc))
        if not unset:
            raise
        fix = {
            PSEUDONYM_KEY_ENV: "set it to the installation's secret key (the one its Dagster "
            "runs get; a new one: `openssl rand -hex 32`)",
            BUCKET_ENV: "set it to the data lake bucket's name",
        }.get(unset[0], "set it as the deployment does for Dagster runs")
        raise ValueError(f"{unset[0]} is not set: {fix}") from None


def _storage() -> Storage:
    """Local folder by default; S3 when HEALTH_TRAINING_STORAGE=s3 (boto3 only then)."""
    if os.environ.get("HEALTH_TRAINING_STORAGE", "local") == "s3":
        from dagster_aws.s3 import S3Resource

        from health_training.resources.storage_s3 import S3Storage

        if not os.environ.get(BUCKET_ENV):
            raise ValueError(
                f"HEALTH_TRAINING_STORAGE=s3 needs {BUCKET_ENV}: set it to the lake bucket's name"
            )
        return S3Storage(
            bucket=dg.EnvVar(BUCKET_ENV),
            prefix=os.environ.get("HEALTH_TRAINING_S3_PREFIX", ""),
            s3=S3Resource(endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None),
        )
    return LocalStorage(root=str(home() / "lake"))


def storage_from_env() -> Storage:
    """The data lake for code outside a run (values resolved, see `resolved`)."""
    return resolved(_storage())


def _phi() -> PhiResource:
    """Production always reads the key through dg.EnvVar (a missing one is a launch error);
    development uses it when set, else the installation's generated key file."""
    environment = os.environ.get("HEALTH_TRAINING_ENV", "development")
    key_file = str(home() / "secrets" / "pseudonym.key")
    if environment == "production" or PSEUDONYM_KEY_ENV in os.environ:
        return PhiResource(
            environment=environment,
            pseudonym_key=dg.EnvVar(PSEUDONYM_KEY_ENV),
            key_file=key_file,
        )
    return PhiResource(environment=environment, key_file=key_file)


def phi_from_env() -> PhiResource:
    """The pseudonymizer's settings for code outside a run (values resolved, see `resolved`)."""
    return resolved(_phi())


def tiktoken_cache_dir() -> str | None:
    """tiktoken's own cache variable; tokens are counted approximately when the file is absent."""
    return os.environ.get("TIKTOKEN_CACHE_DIR")


def training_from_env() -> TrainingResource:
    return TrainingResource(
        home=str(home()), profile=os.environ.get("HEALTH_TRAINING_PROFILE", "cpu_demo")
    )


def mlflow_from_env() -> MlflowResource:
    """An empty HEALTH_TRAINING_MLFLOW_ARTIFACTS leaves artifacts to the tracking server."""
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
            model=os.environ.get("HEALTH_TRAINING_JUDGE_MODEL", DEFAULT_JUDGE_MODEL),
        )
    return JudgeResource()


def feedback_from_env() -> FeedbackResource:
    url = os.environ.get("HEALTH_TRAINING_FEEDBACK_URL") or f"sqlite:///{home() / 'feedback.db'}"
    return FeedbackResource(url=url)


def openai_from_env() -> OpenAIResource:
    """The OpenAI fine-tuning provider's client settings; the key only through dg.EnvVar."""
    base_url = os.environ.get("OPENAI_BASE_URL", "")
    if "OPENAI_API_KEY" in os.environ:
        return OpenAIResource(base_url=base_url, api_key=dg.EnvVar("OPENAI_API_KEY"))
    return OpenAIResource(base_url=base_url)


def dagster_instance() -> dg.DagsterInstance | None:
    """This installation's Dagster instance (`$DAGSTER_HOME`), or None when DAGSTER_HOME is unset
    (a command outside an installation: nothing was ever materialized there)."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None


def serving_keys_from_env() -> tuple[tuple[str, ...], str | None]:
    """The model server's API keys (HEALTH_TRAINING_API_KEYS, comma-separated) and its admin key
    (HEALTH_TRAINING_ADMIN_KEY). The server hashes them at once and keeps only the hashes."""
    keys = tuple(k.strip() for k in os.environ.get("HEALTH_TRAINING_API_KEYS", "").split(","))
    admin = os.environ.get("HEALTH_TRAINING_ADMIN_KEY", "").strip()
    return tuple(k for k in keys if k), admin or None


def serving_key_file_from_env() -> str:
    """HEALTH_TRAINING_API_KEYS_FILE: a YAML file of keys with scopes and tenants ("": none)."""
    return os.environ.get("HEALTH_TRAINING_API_KEYS_FILE", "").strip()


def server_secret_from_env() -> str:
    """HEALTH_TRAINING_SERVER_SECRET: the HMAC secret of the server's key ids ("": the server
    keeps one of its own under the home)."""
    return os.environ.get("HEALTH_TRAINING_SERVER_SECRET", "").strip()


def otlp_endpoint_from_env() -> str:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: where the server sends its spans ("": no tracing)."""
    return os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()


def resources_from_env() -> dict[str, Any]:
    """Every resource the definitions use, by key: secrets still as `dg.EnvVar`."""
    return {
        "storage": _storage(),
        "phi": _phi(),
        "training": training_from_env(),
        "mlflow": mlflow_from_env(),
        "carbon": carbon_from_env(),
        "judge": judge_from_env(),
        "feedback": feedback_from_env(),
        "openai": openai_from_env(),
    }
