"""Operator commands fail cleanly: one line on stderr with the reason and the fix, exit code 2,
and no Dagster beta notices on start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from health_training.cli import main
from health_training.ml.registry.promotion import GateRefused


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MLFLOW_TRACKING_URI", "HEALTH_TRAINING_MLFLOW_ARTIFACTS", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HEALTH_TRAINING_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    return tmp_path / "home"


def _one_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


def test_promoting_a_version_whose_gate_failed_names_the_flag(empty_home, capsys, monkeypatch):
    from health_training.ml.registry import version_gate

    def refuse(*args, **kwargs):
        raise GateRefused(
            "health-query-olmo v2 failed the promotion gate: eval_loss 3.1 > 2.5"
            " (force the promotion to override it, on the record)"
        )

    monkeypatch.setattr(version_gate, "promote_recorded", refuse)
    assert main(["registry", "promote", "2", "--reason", "try"]) == 2
    err = _one_line(capsys)
    assert "failed the promotion gate: eval_loss 3.1 > 2.5" in err and "--force" in err
    assert "force=True" not in err


def test_rollback_with_no_earlier_production_says_what_to_do(empty_home, capsys):
    assert main(["registry", "rollback", "--reason", "bad answers"]) == 2
    err = _one_line(capsys)
    assert "nothing to roll back" in err and "registry promote VERSION" in err


def test_promoting_an_unknown_version_is_one_line(empty_home, capsys):
    assert main(["registry", "promote", "7", "--reason", "x"]) == 2
    assert "registry list" in _one_line(capsys)


def test_registry_list_on_an_empty_registry_prints_no_notices(empty_home):
    """As a subprocess: the notices are printed while the definitions import."""
    exe = Path(sys.executable).with_name("health-training")
    done = subprocess.run(
        [str(exe), "registry", "list"],
        env={**os.environ, "PYTHONWARNINGS": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "no registered versions yet" in done.stdout
    assert "Warning" not in done.stderr, done.stderr
