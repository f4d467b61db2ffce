"""The production stack run natively, as an operator would run it without containers: Debian's
Postgres set up by `docker/postgres/init-databases.sh`, an S3 stand-in (moto's server), `mlflow
server` with the command and settings of the compose file's `mlflow` service, and the Dagster
instance of `docker/dagster.yaml` with DefaultRunLauncher in place of DockerRunLauncher.

`running_stack(root)` starts it all and yields a `Stack`: the environment every command of ours
gets (compose's `x-app-env`, pointed at these processes) and the clients the test checks with.
Used by test_production_stack.py; skips are the caller's (see `missing_reason`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from health_training_tests import postgres
from health_training_tests.deployment.common import DOCKER, ROOT, load_yaml
from health_training_tests.events import wait_until

PSEUDONYM_KEY = "smoke-" + "9f" * 20
LAKE, MLFLOW_BUCKET = "health-training-lake", "health-training-mlflow"
PASSWORDS = {db: f"pw-{db.lower()}" for db in ("DAGSTER", "MLFLOW", "FEEDBACK")}
API_KEY, ADMIN_KEY = "smoke-client-key-" + "c" * 32, "smoke-admin-key-" + "a" * 32
# Taken from compose as written: a regression there fails here. The rest of x-app-env names
# the compose hosts and secrets, replaced below by this machine's.
FROM_COMPOSE = (
    "HEALTH_TRAINING_ENV",
    "HEALTH_TRAINING_STORAGE",
    "HEALTH_TRAINING_MLFLOW_ARTIFACTS",
)


def missing_reason() -> str | None:
    if reason := postgres.missing_reason():
        return reason
    if shutil.which("psql") is None:
        return "psql missing (init-databases.sh runs it): apt-get install -y postgresql-client"
    if not (Path(sys.executable).parent / "dg").exists():
        return "the dg command is missing: pip install dagster-dg-cli (dev extra)"
    return None


@dataclass
class Stack:
    root: Path
    env: dict[str, str]  # what every command of ours runs with
    pg: postgres.PostgresCluster
    s3_endpoint: str
    mlflow_url: str

    def run(self, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
        """A command from the repository root, as the README has it (`health-training …`, `dg …`)."""
        exe = Path(sys.executable).parent / args[0]
        done = subprocess.run(
            [str(exe), *args[1:]],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, (
            f"{' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
        )
        return done

    def sql(self, database: str, query: str) -> list[tuple]:
        import sqlalchemy as sa

        engine = sa.create_engine(
            self.pg.url(database).replace("postgresql://", "postgresql+psycopg2://")
        )
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(query))]
        finally:
            engine.dispose()

    def s3_keys(self, bucket: str, prefix: str = "") -> list[str]:
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _init_databases(pg: postgres.PostgresCluster) -> None:
    env = {
        **os.environ,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(pg.port),
        "POSTGRES_USER": pg.superuser,
    }
    env |= {f"{db}_PG_PASSWORD": pw for db, pw in PASSWORDS.items()}
    script = DOCKER / "postgres" / "init-databases.sh"
    done = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _dagster_home(root: Path) -> Path:
    """docker/dagster.yaml with one change: runs are child processes, not containers."""
    instance = load_yaml(DOCKER / "dagster.yaml")
    instance["run_launcher"] = {"module": "dagster", "class": "DefaultRunLauncher"}
    home = root / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance, sort_keys=False))
    return home


def _mlflow_server(compose: dict, env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """compose's `mlflow` service: its command (host and port made local) and its settings."""
    service = compose["services"]["mlflow"]
    command = list(service["command"])
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    command[0] = str(Path(sys.executable).parent / "mlflow")
    with log.open("w") as out:
        # Its own session: `--workers` starts children, stopped with it through the group.
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@contextlib.contextmanager
def running_stack(root: Path) -> Iterator[Stack]:
    import boto3
    import httpx
    from moto.server import ThreadedMotoServer

    compose = load_yaml(DOCKER / "docker-compose.yml")
    aws = {
        "AWS_ACCESS_KEY_ID": "smoke",
        "AWS_SECRET_ACCESS_KEY": "smoke-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    mlflow_proc = None
    try:
        host, s3_port = moto.get_host_and_port()
        s3_endpoint = f"http://{host}:{s3_port}"
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **_keys(aws))
        for bucket in (LAKE, MLFLOW_BUCKET):
            s3.create_bucket(Bucket=bucket)
        with postgres.running_cluster() as pg:
            _init_databases(pg)
            mlflow_port = postgres.free_port()
            mlflow_url = f"http://127.0.0.1:{mlflow_port}"
            pg_url = f"postgresql+psycopg2://{{}}:{{}}@127.0.0.1:{pg.port}/{{}}"
            server_env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
            server_env |= {**aws, "MLFLOW_DISABLE_TELEMETRY": "true"}
            server_env |= {
                "MLFLOW_BACKEND_STORE_URI": pg_url.format("mlflow", PASSWORDS["MLFLOW"], "mlflow"),
                "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{MLFLOW_BUCKET}/artifacts",
                "MLFLOW_S3_ENDPOINT_URL": s3_endpoint,
                "MLFLOW_SERVER_ALLOWED_HOSTS": f"127.0.0.1:{mlflow_port},localhost:{mlflow_port}",
            }
            mlflow_proc = _mlflow_server(compose, server_env, mlflow_port, root / "mlflow.log")
            app_env = compose["x-app-env"]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DAGSTER_"))}
            env |= {k: str(app_env[k]) for k in FROM_COMPOSE} | aws
            env |= {
                "DAGSTER_HOME": str(_dagster_home(root)),
                "DAGSTER_PG_USER": "dagster",
                "DAGSTER_PG_PASSWORD": PASSWORDS["DAGSTER"],
                "DAGSTER_PG_HOST": "127.0.0.1",
                "DAGSTER_PG_DB": "dagster",
                "DAGSTER_PG_PORT": str(pg.port),
                "DAGSTER_DISABLE_TELEMETRY": "true",
                "HEALTH_TRAINING_HOME": str(root / "home"),
                "HEALTH_TRAINING_S3_BUCKET": LAKE,
                "HEALTH_TRAINING_S3_PREFIX": "",
                "AWS_ENDPOINT_URL": s3_endpoint,
                "HEALTH_TRAINING_PSEUDONYM_KEY": PSEUDONYM_KEY,
                "MLFLOW_TRACKING_URI": mlflow_url,
                "MLFLOW_DISABLE_TELEMETRY": "true",
                "HEALTH_TRAINING_FEEDBACK_URL": pg_url.format(
                    "feedback", PASSWORDS["FEEDBACK"], "feedback"
                ),
                "HEALTH_TRAINING_PROFILE": "cpu_demo",
                "HEALTH_TRAINING_API_KEYS": API_KEY,
                "HEALTH_TRAINING_ADMIN_KEY": ADMIN_KEY,
                "HF_HUB_OFFLINE": "1",
                "HF_DATASETS_OFFLINE": "1",
                "HF_EVALUATE_OFFLINE": "1",
                "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),  # dg checks it
                "PYTHONWARNINGS": "ignore::UserWarning",
            }

            def mlflow_up() -> bool:
                assert mlflow_proc.poll() is None, (root / "mlflow.log").read_text()[-3000:]
                with contextlib.suppress(httpx.HTTPError):
                    return httpx.get(f"{mlflow_url}/health", timeout=5).status_code == 200
                return False

            wait_until(mlflow_up, "mlflow server's /health", timeout=180, poll=1)
            yield Stack(root, env, pg, s3_endpoint, mlflow_url)
    finally:
        if mlflow_proc is not None:
            stop_group(mlflow_proc)
        moto.stop()


def _keys(aws: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": aws["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": aws["AWS_SECRET_ACCESS_KEY"],
    }


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group of a process started with start_new_session, then SIGKILL."""
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
