"""Experiment tracking, model registration, promotion and rollback (MLflow 3).

`Registry(tracking_uri, artifact_location, experiment=..., model_name=...)` holds one MLflow
client; nothing here keeps module state or reads the environment (the Dagster resource builds a
Registry from its settings). A training run is `start_training_run` → `log_step_metrics` per
step → `log_adapter_model` (a pyfunc holding the adapter, see adapter_pyfunc.py) → `register`, which gives
the new version the alias `staging`. Stages are deprecated in MLflow 3, so `production` is an
alias too: `promote` and `rollback` (promotion.py, mixed into `Registry`) move it.

MLflow's fluent API (`log_model`, `register_model`, artifact downloads) reads a process-wide
tracking URI; `_fluent()` points it at ours for the duration of one call and restores it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from health_training.constants import (
    DEFAULT_EXPERIMENT,
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_MODEL_NAME,
    PRODUCTION,
    STAGING,
)
from health_training.ml.registry.aliases import set_alias
from health_training.ml.registry.promotion import Promotions


@contextmanager
def _sqlite_schema_lock(tracking_uri: str) -> Iterator[None]:
    """An exclusive lock beside a `sqlite:///` tracking file (other URIs: nothing to lock)."""
    path = tracking_uri.removeprefix("sqlite:///")
    if not tracking_uri.startswith("sqlite:///") or path in ("", ":memory:"):
        yield
        return
    import fcntl

    db = Path(path)
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".schema.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Registry(Promotions):
    """One tracking server / registry (SQLite, Postgres or an MLflow server URI)."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_location: str | None = None,
        *,
        experiment: str = DEFAULT_EXPERIMENT,
        model_name: str = DEFAULT_MODEL_NAME,
    ) -> None:
        """`artifact_location` roots new experiments' artifacts (a path, `s3://...`, or
        `mlflow-artifacts:/...` through an `http://` tracking server that proxies its store);
        None leaves them to the server's default."""
        import mlflow

        self.tracking_uri = tracking_uri
        self.artifact_location = artifact_location
        self.experiment = experiment
        self.model_name = model_name
        with _sqlite_schema_lock(tracking_uri):
            # MLflow creates (migrates) a SQLite schema when a client first opens it; two
            # trainings that register at once into a fresh file would both run the migration and
            # one fails ("table latest_metrics already exists"). One at a time, then a no-op.
            self.client = mlflow.MlflowClient(tracking_uri, tracking_uri)
            self.client.search_experiments(max_results=1)
            self.client.search_registered_models(max_results=1)

    def __repr__(self) -> str:
        return f"Registry({self.tracking_uri!r}, model_name={self.model_name!r})"

    @contextmanager
    def _fluent(self) -> Iterator[None]:
        import mlflow

        before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(before[0])
            mlflow.set_registry_uri(before[1])

    # --- tracking ---------------------------------------------------------------------------

    def experiment_id(self, name: str | None = None) -> str:
        name = name or self.experiment
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(exp.experiment_id)
            return exp.experiment_id
        location = None
        if self.artifact_location:
            root = self.artifact_location
            # Any URI keeps its scheme (`mlflow-artifacts:/x` has no "://"); a path becomes file:.
            root = root if len(urlsplit(root).scheme) > 1 else Path(root).resolve().as_uri()
            slug = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
            location = f"{root.rstrip('/')}/{slug}"
        return self.client.create_experiment(name, artifact_location=location)

    def start_training_run(
        self,
        *,
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
        run_name: str | None = None,
        experiment: str | None = None,
    ) -> str:
        """Create a RUNNING run with its params and tags; returns the run id."""
        from mlflow.entities import Param

        run = self.client.create_run(
            self.experiment_id(experiment),
            tags={k: str(v) for k, v in tags.items()},
            run_name=run_name,
        )
        items = [Param(k, str(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(run.info.run_id, params=items[i : i + 100])
        return run.info.run_id

    def log_step_metrics(self, run_id: str, metrics: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        self.client.log_batch(run_id, metrics=batch)

    def log_artifacts(
        self, run_id: str, files_or_dirs: Iterable[str | Path], artifact_path: str | None = None
    ) -> None:
        """Upload files, and directories under their own name, to the run's artifacts."""
        for item in map(Path, files_or_dirs):
            if item.is_dir():
                dest = f"{artifact_path}/{item.name}" if artifact_path else item.name
                self.client.log_artifacts(run_id, str(item), dest)
            elif item.is_file():
                self.client.log_artifact(run_id, str(item), artifact_path)
            else:
                raise FileNotFoundError(f"{item}: no such file or directory to log")

    def finish_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status)

    @contextmanager
    def resumed(self, run_id: str) -> Iterator[None]:
        """Make `run_id` the active run for fluent calls, leaving its status as it was."""
        import mlflow

        with self._fluent():
            active = mlflow.active_run()
            if active is not None and active.info.run_id == run_id:
                yield
                return
            status = self.client.get_run(run_id).info.status
            try:
                with mlflow.start_run(run_id=run_id, nested=active is not None):
                    yield
            finally:
                # Leaving the context ended the run (FAILED on an error); training may log on.
                self.client.update_run(run_id, status=status)

    def log_adapter_model(
        self,
        run_id: str,
        adapter_dir: str | Path,
        *,
        base_model: str,
        base_revision: str | None,
        base_dir: str | Path | None = None,
        bundle_base: bool,
        tokenizer_dir: str | Path | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    ) -> str:
        """Log the adapter as a pyfunc model of the run; returns its `models:/<id>` URI.

        bundle_base=True copies `base_dir` into the model so `models:/...@production` is
        self-contained (small local bases); False names `base_model` + `base_revision`, loaded
        from the hub at serving time (OLMo-7B). The input example is only logged with a bundled
        base: MLflow validates it by loading and running the model, which must not download 7B
        weights.
        """
        adapter_dir = Path(adapter_dir)
        if not (adapter_dir / "adapter_config.json").is_file():
            raise FileNotFoundError(
                f"{adapter_dir}/adapter_config.json: not a PEFT adapter directory"
            )
        artifacts = {"adapter": str(adapter_dir)}
        if tokenizer_dir is not None:
            artifacts["tokenizer"] = str(tokenizer_dir)
        if bundle_base:
            if base_dir is None or not (Path(base_dir) / "config.json").is_file():
                raise ValueError(
                    f"bundle_base=True needs base_dir with a config.json, got {base_dir}"
                )
            artifacts["base"] = str(base_dir)
        import mlflow

        from health_training.ml.registry.adapter_pyfunc import AdapterModel, signature_and_example

        described = {"base_model": base_model, "base_revision": base_revision or ""}
        signature, example = signature_and_example(max_new_tokens)
        with self.resumed(run_id):
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

    # --- registry ---------------------------------------------------------------------------

    def register(self, model_uri: str, *, tags: Mapping[str, Any] | None = None) -> str:
        """Register a logged model as a new version and point `staging` at it."""
        import mlflow

        with self._fluent():
            mv = mlflow.register_model(
                model_uri, self.model_name, tags={k: str(v) for k, v in (tags or {}).items()}
            )
        set_alias(self.client, self.model_name, STAGING, mv.version)
        return str(mv.version)

    def version_by_alias(self, alias: str) -> Any | None:
        """The ModelVersion behind `alias`, or None when the model or the alias is unknown."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException as exc:
            # MLflow 3.17: an unknown model is RESOURCE_DOES_NOT_EXIST, an unset alias
            # INVALID_PARAMETER_VALUE "Registered model alias production not found."
            missing_alias = exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in str(exc)
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or missing_alias:
                return None
            raise

    def production_version(self) -> Any | None:
        return self.version_by_alias(PRODUCTION)

    def version(self, version: str) -> Any:
        return self.client.get_model_version(self.model_name, str(version))

    def version_metrics(self, version: str) -> dict[str, float]:
        """Latest metrics of the run that produced the version (its logged model's if run-less)."""
        mv = self.version(version)
        if mv.run_id:
            return dict(self.client.get_run(mv.run_id).data.metrics)
        if getattr(mv, "model_id", None):
            return {m.key: m.value for m in self.client.get_logged_model(mv.model_id).metrics or []}
        return {}

    def set_version_tags(self, version: str, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, str(version), key, str(value))

    # --- artifacts --------------------------------------------------------------------------

    def download_adapter(self, version: str, dst: str | Path) -> tuple[Path, dict[str, Any]]:
        """A registered version's adapter folder on local disk and the model's metadata."""
        import mlflow

        uri = f"models:/{self.model_name}/{version}"
        with self._fluent():
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst)))
            info = mlflow.models.get_model_info(uri)
        adapter = local / "artifacts" / "adapter"
        if not (adapter / "adapter_config.json").is_file():
            raise FileNotFoundError(f"{uri} holds no adapter at {adapter}")
        return adapter, dict(info.metadata or {})

    def download_run_file(self, run_id: str | None, path: str, dst: str | Path) -> Path | None:
        """One artifact file of a run on local disk, or None when the run or file is absent."""
        import mlflow
        from mlflow.exceptions import MlflowException

        if not run_id:
            return None
        try:
            with self._fluent():
                local = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=path, dst_path=str(dst)
                )
        except (MlflowException, OSError):
            return None
        found = Path(local)
        return found if found.is_file() else None


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("mlflow", "torch", "transformers", "peft", "pandas")]
