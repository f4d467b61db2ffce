"""`health-training serve`: settings from the flags and the environment (through
resources/environment.py, the one reader), services, then uvicorn.

Keys are hashed here, before anything else sees them. Without API keys the server refuses any
address but loopback and says so at start.
"""

from __future__ import annotations

import logging
from typing import Any

from health_training.serving.auth import hash_key
from health_training.serving.settings import ServingSettings, check_bind

log = logging.getLogger("health_training.serving")


def settings_from_env(
    *,
    host: str,
    port: int,
    backend: str,
    upstream_url: str = "",
    grounding: str = "regenerate",
    **overrides: Any,
) -> ServingSettings:
    from health_training.ml.models import default_model_name
    from health_training.resources import mlflow_from_env, training_from_env
    from health_training.resources.environment import home, serving_keys_from_env

    api_keys, admin_key = serving_keys_from_env()
    check_bind(host, bool(api_keys))  # raises before anything loads
    training = training_from_env()
    return ServingSettings(
        model_name=mlflow_from_env().model_name,
        base_model=overrides.pop("base_model", None) or default_model_name(),
        models_dir=training.models_dir,
        work_dir=home() / "serving",
        host=host,
        port=port,
        backend=backend,
        upstream_url=upstream_url,
        api_key_hashes=tuple(hash_key(k) for k in api_keys),
        admin_key_hash=hash_key(admin_key) if admin_key else None,
        grounding=grounding,
        **overrides,
    )


def build_app(settings: ServingSettings) -> Any:
    from health_training.resources import (
        feedback_from_env,
        mlflow_from_env,
        phi_from_env,
        storage_from_env,
    )
    from health_training.serving.app import create_app
    from health_training.serving.jobs import DagsterJobs

    return create_app(
        settings,
        mlflow=mlflow_from_env(),
        feedback_store=feedback_from_env().store(),
        pseudonymize=phi_from_env().pseudonymizer(),
        storage=storage_from_env(),
        jobs=DagsterJobs(settings.dagster_host, settings.dagster_port),
    )


def run_server(settings: ServingSettings) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.info(check_bind(settings.host, settings.keys_required))
    if settings.admin_key_hash is None:
        log.info("no HEALTH_TRAINING_ADMIN_KEY: the admin API is disabled")
    uvicorn.run(build_app(settings), host=settings.host, port=settings.port, log_level="info")
