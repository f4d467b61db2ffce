"""docker/: `docker-compose config -q` parses the stack (Debian's `docker-compose`; skipped without
it), every secret is required, every variable compose reads is in .env.example, run containers get
the app's environment, and every setting the resources read is deployed (compose and Kubernetes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from health_training_tests.deployment.common import DEPLOY, DOCKER, ROOT, load_yaml

SECRET_NAMES = [  # every ${VAR:?} of the compose file
    "POSTGRES_PASSWORD",
    "DAGSTER_PG_PASSWORD",
    "MLFLOW_PG_PASSWORD",
    "FEEDBACK_PG_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "HEALTH_TRAINING_S3_ACCESS_KEY",
    "HEALTH_TRAINING_S3_SECRET_KEY",
    "HEALTH_TRAINING_PSEUDONYM_KEY",
    "HEALTH_TRAINING_API_KEYS",
    "HEALTH_TRAINING_ADMIN_KEY",
]
SECRETS = dict.fromkeys(SECRET_NAMES, "not-a-secret-0123456789")


def compose_config(*files: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose not installed: `apt-get install -y docker-compose` (Debian)")
    args = ["docker-compose", "--env-file", str(DOCKER / ".env.example")]
    for file in files:
        args += ["-f", str(file)]
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [*args, "config", "-q"], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu", "gpu-override"])
def test_compose_file_parses(gpu: bool):
    files = [DOCKER / "docker-compose.yml"] + ([DOCKER / "docker-compose.gpu.yml"] if gpu else [])
    result = compose_config(*files, env=SECRETS)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_missing_secrets_and_broken_files(tmp_path: Path):
    missing = compose_config(DOCKER / "docker-compose.yml", env={})
    assert missing.returncode != 0 and "in docker/.env" in missing.stderr, missing.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (DOCKER / "docker-compose.yml")
        .read_text()
        .replace("condition: service_healthy", "condition: service_happy", 1)
    )
    result = compose_config(broken, env=SECRETS)
    assert result.returncode != 0 and "service_happy" in result.stderr, result.stderr


def test_env_example_names_every_compose_variable():
    example = (DOCKER / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    for name in ("docker-compose.yml", "docker-compose.gpu.yml"):
        # `$${...}` is the container shell's, not compose's.
        used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", (DOCKER / name).read_text()))
        assert used <= listed, f"docker/.env.example lacks {sorted(used - listed)} ({name})"


def test_run_containers_get_the_app_environment():
    app_env = set(load_yaml(DOCKER / "docker-compose.yml")["x-app-env"])
    plain, gpu = load_yaml(DOCKER / "dagster.yaml"), load_yaml(DOCKER / "dagster.gpu.yaml")
    forwarded = set(plain["run_launcher"]["config"]["env_vars"])
    assert forwarded == app_env, (
        "docker/dagster.yaml run_launcher.config.env_vars must name exactly x-app-env's keys: "
        f"missing {sorted(app_env - forwarded)}, extra {sorted(forwarded - app_env)}"
    )
    # The GPU variant differs only in the GPUs its run containers get.
    requests = gpu["run_launcher"]["config"]["container_kwargs"].pop("device_requests")
    assert requests == [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}]
    assert gpu == plain


def test_every_setting_resources_reads_is_deployed():
    """The resources package is the configuration surface: each variable it reads has a place
    in both."""
    files = sorted((ROOT / "health_training" / "resources").rglob("*.py"))
    source = "".join(path.read_text() for path in files)
    names = set(
        re.findall(r"\"((?:HEALTH_TRAINING|MLFLOW|AWS|OPENAI|TIKTOKEN|HF)_[A-Z0-9_]+)\"", source)
    )
    assert "HEALTH_TRAINING_HOME" in names  # the pattern still matches how the environment is read
    compose = (DOCKER / ".env.example").read_text() + (DOCKER / "docker-compose.yml").read_text()
    k8s = "".join(p.read_text() for p in (DEPLOY / "k8s").rglob("*.yaml"))
    for where, text in (("docker/.env.example", compose), ("deploy/k8s", k8s)):
        absent = sorted(n for n in names if not re.search(rf"\b{n}\b", text))
        assert not absent, f"{where} does not mention {absent} (read in health_training/resources)"
