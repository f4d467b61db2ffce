"""Experiment tracking, model registration, the promotion gate, promotion and rollback (MLflow 3).

The caller (a Dagster resource) calls `configure(tracking_uri, artifact_location)` once; nothing
here reads the environment. A training run is `start_training_run` → `log_step_metrics` per step →
`log_adapter_model` (a pyfunc holding the adapter, see pyfunc.py) → `register`, which gives the new
version the alias `staging`. Stages are deprecated in MLflow 3, so `production` is an alias too:
`promote` moves it after `gate.evaluate_gate` (policy in configs/promotion.yaml) and records who, when,
why and which version it replaced, so `rollback` can walk the chain back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from health_training.ml.gate import GateDecision

DEFAULT_MODEL_NAME = "health-query-olmo"
STAGING, PRODUCTION = "staging", "production"
HISTORY_TAG = "promotion.history"
HISTORY_KEEP = 50  # events kept in the registered-model tag; version tags keep the full chain

_STATE: dict[str, str | None] = {}


# --- tracking -------------------------------------------------------------------------------


def configure(tracking_uri: str, artifact_location: str | None = None) -> None:
    """Point MLflow at a tracking server/DB; `artifact_location` roots new experiments' artifacts.

    None leaves artifacts to the server's default (an `http://` server proxying its store); with a
    `sqlite://` or `postgresql://` URI give a path or `s3://bucket/prefix`.
    """
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    _STATE.update(tracking_uri=tracking_uri, artifact_location=artifact_location)


def _client() -> Any:
    if "tracking_uri" not in _STATE:
        raise RuntimeError("registry is not configured: call configure(tracking_uri, ...) first")
    import mlflow

    # Other code (dagster-mlflow) may have moved the global URI; ours wins for fluent calls too.
    mlflow.set_tracking_uri(_STATE["tracking_uri"])
    mlflow.set_registry_uri(_STATE["tracking_uri"])
    return mlflow.MlflowClient(_STATE["tracking_uri"], _STATE["tracking_uri"])


def _experiment_id(client: Any, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return exp.experiment_id
    root = _STATE.get("artifact_location")
    location = None
    if root:
        root = root if "://" in root else Path(root).resolve().as_uri()
        slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        location = f"{root.rstrip('/')}/{slug}"
    return client.create_experiment(name, artifact_location=location)


def start_training_run(
    experiment: str,
    *,
    params: Mapping[str, Any],
    tags: Mapping[str, Any],
    run_name: str | None = None,
) -> str:
    """Create a RUNNING run with its params and tags; returns the run id."""
    from mlflow.entities import Param

    client = _client()
    run = client.create_run(
        _experiment_id(client, experiment),
        tags={k: str(v) for k, v in tags.items()},
        run_name=run_name,
    )
    items = [Param(k, str(v)) for k, v in params.items()]
    for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
        client.log_batch(run.info.run_id, params=items[i : i + 100])
    return run.info.run_id


def log_step_metrics(run_id: str, metrics: Mapping[str, float], step: int) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
    _client().log_batch(run_id, metrics=batch)


def log_artifacts(
    run_id: str, files_or_dirs: Iterable[str | Path], artifact_path: str | None = None
) -> None:
    """Upload files, and directories under their own name, to the run's artifacts."""
    client = _client()
    for item in map(Path, files_or_dirs):
        if item.is_dir():
            dest = f"{artifact_path}/{item.name}" if artifact_path else item.name
            client.log_artifacts(run_id, str(item), dest)
        elif item.is_file():
            client.log_artifact(run_id, str(item), artifact_path)
        else:
            raise FileNotFoundError(f"{item}: no such file or directory to log")


def finish_run(run_id: str, status: str = "FINISHED") -> None:
    _client().set_terminated(run_id, status)


@contextmanager
def _resumed(run_id: str) -> Iterator[None]:
    """Make `run_id` the active run for fluent calls, leaving its status as it was."""
    import mlflow

    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        yield
        return
    client = _client()
    status = client.get_run(run_id).info.status
    try:
        with mlflow.start_run(run_id=run_id, nested=active is not None):
            yield
    finally:
        # Leaving the context ended the run (FAILED on an error); training may still log to it.
        client.update_run(run_id, status=status)


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("mlflow", "torch", "transformers", "peft", "pandas")]


def log_adapter_model(
    run_id: str,
    adapter_dir: str | Path,
    *,
    base_model: str,
    base_revision: str | None,
    base_dir: str | Path | None = None,
    bundle_base: bool,
    tokenizer_dir: str | Path | None = None,
    max_new_tokens: int = 128,
) -> str:
    """Log the adapter as a pyfunc model of the run; returns its `models:/<model_id>` URI.

    bundle_base=True copies `base_dir` into the model so `models:/...@production` is
    self-contained (small local bases); False names `base_model` + `base_revision`, loaded from
    the hub at serving time (OLMo-7B). The input example is only logged with a bundled base:
    MLflow validates it by loading and running the model, which must not download 7B weights.
    """
    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise FileNotFoundError(f"{adapter_dir}/adapter_config.json: not a PEFT adapter directory")
    artifacts = {"adapter": str(adapter_dir)}
    if tokenizer_dir is not None:
        artifacts["tokenizer"] = str(tokenizer_dir)
    if bundle_base:
        if base_dir is None or not (Path(base_dir) / "config.json").is_file():
            raise ValueError(f"bundle_base=True needs base_dir with a config.json, got {base_dir}")
        artifacts["base"] = str(base_dir)
    import mlflow

    from health_training.ml.pyfunc import AdapterModel, signature_and_example

    described = {"base_model": base_model, "base_revision": base_revision or ""}
    signature, example = signature_and_example(max_new_tokens)
    _client()  # sets the global URIs that mlflow.pyfunc.log_model uses
    with _resumed(run_id):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=AdapterModel(),
            artifacts=artifacts,
            model_config={**described, "max_new_tokens": max_new_tokens, "dtype": "float32"},
            metadata={**described, "bundle_base": bundle_base},
            signature=signature,
            input_example=example if bundle_base else None,
            pip_requirements=_pip_requirements(),
        )
    return info.model_uri


def register(
    model_uri: str, name: str = DEFAULT_MODEL_NAME, *, tags: Mapping[str, Any] | None = None
) -> str:
    """Register a logged model as a new version of `name` and point `staging` at it."""
    import mlflow

    client = _client()
    mv = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in (tags or {}).items()})
    client.set_registered_model_alias(name, STAGING, mv.version)
    return str(mv.version)


def production_version(name: str = DEFAULT_MODEL_NAME) -> Any | None:
    """The ModelVersion behind the `production` alias, or None when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        return _client().get_model_version_by_alias(name, PRODUCTION)
    except MlflowException as exc:
        # MLflow 3.17: an unknown model is RESOURCE_DOES_NOT_EXIST, an unset alias
        # INVALID_PARAMETER_VALUE "Registered model alias production not found."
        missing_alias = exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in str(exc)
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or missing_alias:
            return None
        raise


def version_metrics(name: str, version: str) -> dict[str, float]:
    """Latest metrics of the run that produced the version (its logged model's if run-less)."""
    client = _client()
    mv = client.get_model_version(name, str(version))
    if mv.run_id:
        return dict(client.get_run(mv.run_id).data.metrics)
    if getattr(mv, "model_id", None):
        return {m.key: m.value for m in client.get_logged_model(mv.model_id).metrics or []}
    return {}


# --- promotion and rollback -----------------------------------------------------------------


def _append_history(client: Any, name: str, event: dict[str, str]) -> None:
    model = client.get_registered_model(name)
    history = json.loads(model.tags.get(HISTORY_TAG, "[]"))
    history.append(event)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history[-HISTORY_KEEP:]))


def promote(
    name: str,
    version: str,
    *,
    approved_by: str,
    reason: str,
    decision: GateDecision | None,
    now: str,
    force: bool = False,
) -> None:
    """Move `production` to `version`, recording approval, gate result and the replaced version.

    A failed gate refuses unless `force=True` (a person overriding it, on the record).
    Promoting the version that is already production changes nothing (safe to retry).
    """
    version = str(version)
    if decision is not None and not decision.passed and not force:
        raise ValueError(
            f"{name} v{version} failed the promotion gate: {'; '.join(decision.reasons)}"
            " (pass force=True to override, on the record)"
        )
    client = _client()
    client.get_model_version(name, version)  # fails clearly if the version does not exist
    current = production_version(name)
    if current is not None and str(current.version) == version:
        return
    previous = str(current.version) if current is not None else ""
    tags = {
        "promotion.approved_by": approved_by,
        "promotion.at": now,
        "promotion.reason": reason,
        "promotion.gate_passed": "not evaluated" if decision is None else str(decision.passed),
        "promotion.scores": "{}" if decision is None else decision.to_json(),
        "promotion.previous_production": previous,
        "promotion.forced": str(force and decision is not None and not decision.passed),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    # The alias moves last: until then serving still resolves to the old version.
    client.set_registered_model_alias(name, PRODUCTION, version)
    _append_history(
        client,
        name,
        {"action": "promote", "version": version, "replaced": previous, "by": approved_by}
        | {"at": now, "reason": reason},
    )


def rollback(name: str, *, by: str, reason: str, now: str) -> str:
    """Point `production` back at the version the current one replaced; returns that version."""
    client = _client()
    current = production_version(name)
    if current is None:
        raise ValueError(f"{name} has no '{PRODUCTION}' alias: nothing to roll back")
    current_v = str(current.version)
    previous = current.tags.get("promotion.previous_production", "")
    if not previous:
        raise ValueError(
            f"{name} v{current_v} is production but replaced no earlier version:"
            " nothing to roll back to (promote a specific version instead)"
        )
    client.get_model_version(name, previous)  # fails clearly if it was deleted
    for key, value in {
        "rollback.at": now,
        "rollback.by": by,
        "rollback.reason": reason,
        "rollback.restored": previous,
    }.items():
        client.set_model_version_tag(name, current_v, key, value)
    for key, value in {
        "rollback.restored_at": now,
        "rollback.restored_by": by,
        "rollback.restored_from": current_v,
    }.items():
        client.set_model_version_tag(name, previous, key, value)
    client.set_registered_model_alias(name, PRODUCTION, previous)
    _append_history(
        client,
        name,
        {"action": "rollback", "version": previous, "replaced": current_v, "by": by}
        | {"at": now, "reason": reason},
    )
    return previous


def download_adapter(name: str, version: str, dst: str | Path) -> tuple[Path, dict[str, Any]]:
    """A registered version's adapter folder on local disk and the model's metadata."""
    import mlflow

    _client()
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{version}", dst_path=str(dst)
        )
    )
    adapter = local / "artifacts" / "adapter"
    if not (adapter / "adapter_config.json").is_file():
        raise FileNotFoundError(f"models:/{name}/{version} holds no adapter at {adapter}")
    info = mlflow.models.get_model_info(f"models:/{name}/{version}")
    return adapter, dict(info.metadata or {})


def download_run_file(run_id: str | None, path: str, dst: str | Path) -> Path | None:
    """One artifact file of a run on local disk, or None when the run or the file is absent."""
    import mlflow
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    _client()
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=path, dst_path=str(dst)
        )
    except (MlflowException, OSError):
        return None
    found = Path(local)
    return found if found.is_file() else None
