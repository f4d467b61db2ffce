"""The container instance (docker/dagster.yaml, dagster.gpu.yaml) on a real Postgres: set up by
the stack's own docker/postgres/init-databases.sh in the session's throwaway cluster
(`postgres_cluster`, health_training_tests/postgres.py; skipped without Debian's server binaries),
it loads, its storage works, and its DockerRunLauncher would create the run containers we expect.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from health_training_tests.deployment.common import DOCKER
from health_training_tests.postgres import PostgresCluster


@pytest.fixture(scope="module")
def stack_databases(postgres_cluster: PostgresCluster) -> int:
    """The cluster after docker/postgres/init-databases.sh (as the postgres image runs it on an
    empty volume): the dagster, mlflow and feedback roles and databases. Yields its port."""
    if shutil.which("psql") is None:
        pytest.skip("psql missing (the init script runs it): apt-get install -y postgresql-client")
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres_cluster.port),
        "POSTGRES_USER": postgres_cluster.superuser,
    }
    env |= {f"{db}_PG_PASSWORD": f"pw-{db.lower()}" for db in ("DAGSTER", "MLFLOW", "FEEDBACK")}
    script = DOCKER / "postgres" / "init-databases.sh"
    done = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return postgres_cluster.port


@pytest.mark.slow
@pytest.mark.parametrize("instance_yaml", ["dagster.yaml", "dagster.gpu.yaml"])
def test_container_instance_loads_on_postgres(
    stack_databases: int, instance_yaml: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for module in ("dagster_postgres", "dagster_docker"):
        pytest.importorskip(module, reason=f"pip install {module.replace('_', '-')} (dev extra)")
    import dagster as dg
    import sqlalchemy as sa
    from docker.models.containers import _create_container_args  # docker-py's own mapping

    shutil.copy(DOCKER / instance_yaml, tmp_path / "dagster.yaml")
    env = {
        "DAGSTER_PG_USER": "dagster",
        "DAGSTER_PG_PASSWORD": "pw-dagster",
        "DAGSTER_PG_DB": "dagster",
    }
    env |= {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(stack_databases)}
    env |= {"HEALTH_TRAINING_S3_BUCKET": "lake", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    for key, value in {**env, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "health_training/gpu", "limit": 1} in limits
        assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
        run = instance.add_run(dg.DagsterRun(job_name="probe", run_id=str(uuid.uuid4())))
        assert instance.get_run_by_id(run.run_id) is not None  # tables exist, scheme works
        launcher = instance.run_launcher
        assert type(launcher).__name__ == "DockerRunLauncher"
        context = launcher.get_container_context(run)
        assert context.networks == ["health_training"]
        # What docker-py's containers.create makes of the run container's settings.
        create = _create_container_args(
            {"image": "health-training:cpu", "version": "1.44", **context.container_kwargs}
        )
        host = dict(create["host_config"])
        assert host["Binds"] == ["health_training_home:/data"]
        assert create["healthcheck"] == {"test": ["NONE"]}
        gpus = [r["Capabilities"] for r in host.get("DeviceRequests", [])]
        assert gpus == ([[["gpu"]]] if "gpu" in instance_yaml else [])
    finally:
        instance.dispose()
    # The other two databases answer their own roles, with the URL form the stack uses.
    for db in ("mlflow", "feedback"):
        url = f"postgresql+psycopg2://{db}:pw-{db}@127.0.0.1:{stack_databases}/{db}"
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select current_user").scalar() == db
        engine.dispose()
