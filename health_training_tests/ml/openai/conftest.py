"""One MLflow SQLite DB for the package (creating its schema takes seconds), and per-test names."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="package")
def mlflow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def names(mlflow_root: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """The shared DB, with an experiment and a registered model of this test's own."""
    import mlflow

    uri = f"sqlite:///{mlflow_root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)  # the tests' own fluent calls (load_model) read it
    mlflow.set_registry_uri(uri)
    name = request.node.name.removeprefix("test_")[:60]
    return {"experiment": name, "registered_model": name}
