"""The package's house rules, checked on its source: the environment is read in one module, the
pure packages import no Dagster, Dagster bodies stay glue, and file names do not repeat."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "health_training"
MODULES = sorted(PACKAGE.rglob("*.py"))

# Where `os.environ` may appear outside resources/environment.py, and why it is no settings read.
ENVIRONMENT_ELSEWHERE = {
    # The lease holder hands its own environment on to the command it wraps, plus the devices.
    "launcher/leases.py",
    # MLflow's own variable, set before MLflow is imported (it reads its log level then); the
    # CLI's notices are quieted without importing dagster, which environment.py would.
    "commands/cli_errors.py",
}


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_the_environment_is_read_in_one_module(path: Path) -> None:
    if _relative(path) in ENVIRONMENT_ELSEWHERE | {"resources/environment.py"}:
        return
    text = path.read_text()
    assert not re.search(r"\bos\.environ\b|\bgetenv\(", text), (
        f"{path}: read the environment through health_training/resources/environment.py"
    )


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if _relative(p).split("/")[0] in ("data", "ml", "etl")],
    ids=_relative,
)
def test_the_pure_packages_import_no_dagster(path: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    wrong = sorted(
        name
        for name in imported
        if name.split(".")[0] == "dagster"
        or name.startswith(("health_training.defs", "health_training.resources"))
    )
    assert not wrong, f"{path} imports {wrong}: data/, ml/ and etl/ stay free of Dagster"
