"""Shared fixtures: third-party sample files, local storage, a moto S3 endpoint, Postgres."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Tests never reach the network: hub lookups and telemetry fail fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared data folder sits beside the repo)")
    return path


@pytest.fixture
def local_storage(tmp_path: Path):
    from health_training.resources import LocalStorage

    return LocalStorage(root=str(tmp_path / "lake"))


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 HTTP endpoint (moto's server) on 127.0.0.1, with a fresh bucket per test."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str):
    import uuid

    import boto3
    from dagster_aws.s3 import S3Resource

    from health_training.resources.storage_s3 import S3Storage

    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return S3Storage(
        bucket=bucket,
        prefix="health",
        s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"),
    )


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway Postgres for the session (superuser `postgres`, trust auth on 127.0.0.1), shared
    by the feedback-store and deployment tests; each makes its own databases in it. Skipped, with
    the reason, without the server binaries (see health_training_tests/postgres.py)."""
    from health_training_tests import postgres

    reason = postgres.missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with postgres.running_cluster() as cluster:
        yield cluster
