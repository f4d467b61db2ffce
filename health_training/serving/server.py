"""`health-training serve`: settings from the flags, configs/serving.yaml and the environment,
services, then uvicorn.

Keys are HMAC'd here, before anything else sees them (serving/http/keys.py). Environment, all read
by resources/environment.py: HEALTH_TRAINING_API_KEYS (comma-separated: all scopes but admin,
tenant `default`), HEALTH_TRAINING_ADMIN_KEY, and for the server only
HEALTH_TRAINING_API_KEYS_FILE (a YAML file of keys with scopes and tenants),
HEALTH_TRAINING_SERVER_SECRET (the HMAC secret, 32+ characters; without it one is made once
under $HEALTH_TRAINING_HOME/serving/server_secret, mode 0600, so key ids survive restarts) and
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (turns tracing on). Keys shorter than 32 characters stop the
start. Without API keys the server refuses any address but loopback and says so at start.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from pathlib import Path
from typing import Any

from health_training.serving.http.keys import MIN_SECRET_CHARS, KeyConfigError, keys_from_config
from health_training.serving.settings import ServingSettings, check_bind, load_serving_config

log = logging.getLogger("health_training.serving")


def settings_from_env(
    *,
    host: str,
    port: int,
    backend: str,
    upstream_url: str = "",
    grounding: str = "regenerate",
    admission: str | None = None,
    **overrides: Any,
) -> ServingSettings:
    from health_training.ml.lm.models import default_model_name
    from health_training.resources import mlflow_from_env, training_from_env
    from health_training.resources.environment import (
        home,
        otlp_endpoint_from_env,
        serving_key_file_from_env,
        serving_keys_from_env,
    )

    api_keys, admin_key = serving_keys_from_env()
    key_file = serving_key_file_from_env()
    check_bind(host, bool(api_keys or key_file))  # raises before anything loads
    secret = server_secret(home() / "serving")
    keys = keys_from_config(
        secret,
        plain=api_keys,
        admin=admin_key,
        key_file_text=Path(key_file).read_text() if key_file else None,
        key_file_name=key_file,
    )
    config = load_serving_config(admission=admission)  # None: the YAML's own profile
    endpoint = otlp_endpoint_from_env()
    if endpoint:
        config["otlp_endpoint"] = endpoint
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
        keys=keys,
        key_secret=secret,
        grounding=grounding,
        **(config | overrides),
    )


def server_secret(folder: Path) -> bytes:
    """HEALTH_TRAINING_SERVER_SECRET, else the one kept in `folder` (made on first start)."""
    from health_training.resources.environment import server_secret_from_env

    given = server_secret_from_env()
    if given:
        if len(given) < MIN_SECRET_CHARS:
            raise KeyConfigError(
                f"HEALTH_TRAINING_SERVER_SECRET has {len(given)} characters; it needs at least "
                f"{MIN_SECRET_CHARS}"
            )
        return given.encode()
    path = folder / "server_secret"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # O_EXCL: of two servers starting at once, one writes it and both read that one.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def build_app(settings: ServingSettings) -> Any:
    from health_training.resources import (
        feedback_from_env,
        mlflow_from_env,
        phi_from_env,
        storage_from_env,
    )
    from health_training.serving.dagster_runs import DagsterJobs
    from health_training.serving.http.app import create_app

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
    if not settings.admin_enabled:
        log.info("no HEALTH_TRAINING_ADMIN_KEY: the admin API is disabled")
    uvicorn.run(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # SIGTERM: requests in flight get this long, then they are cancelled and the
        # lifespan drains the generation worker (work_queue.close).
        timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_drain_s)),
    )
