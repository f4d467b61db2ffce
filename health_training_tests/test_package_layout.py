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


# Dagster's per-domain file names repeat by convention (dagster-open-platform does the same).
DAGSTER_NAMES = {"__init__.py", "assets.py", "jobs.py", "sensors.py", "schedules.py", "checks.py",
                 "config.py", "partitions.py", "resources.py"}  # fmt: skip


def test_file_names_do_not_repeat() -> None:
    by_name: dict[str, list[str]] = {}
    for path in MODULES:
        by_name.setdefault(path.name, []).append(_relative(path))
    repeated = {
        name: paths
        for name, paths in by_name.items()
        if len(paths) > 1 and name not in DAGSTER_NAMES
    }
    assert not repeated, f"one name, two meanings: {repeated}"


DAGSTER_BODIES = {"asset", "multi_asset", "op", "sensor", "run_status_sensor", "asset_check",
                  "schedule", "graph_asset"}  # fmt: skip
MAX_BODY_LINES = 45


def _bodies() -> list[tuple[str, int]]:
    """(definition, lines of its body after the docstring) of every Dagster-decorated function
    under defs/."""
    found = []
    for path in sorted((PACKAGE / "defs").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            names = {
                (d.func if isinstance(d, ast.Call) else d).attr
                for d in node.decorator_list
                if isinstance(d.func if isinstance(d, ast.Call) else d, ast.Attribute)
            }
            if not names & DAGSTER_BODIES:
                continue
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            lines = node.end_lineno - body[0].lineno + 1 if body else 0
            found.append((f"{_relative(path)}:{node.name}", lines))
    return found


def test_dagster_bodies_are_glue() -> None:
    """An asset, op, check or sensor reads its inputs, calls data/ or ml/, stores through a
    resource and returns metadata: a longer body holds logic that belongs in the pure packages."""
    bodies = _bodies()
    assert len(bodies) > 20  # the walk found the definitions
    long = {name: n for name, n in bodies if n > MAX_BODY_LINES}
    assert not long, f"over {MAX_BODY_LINES} lines: {long}"
