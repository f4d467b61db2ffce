"""How the `health-training` command fails: one line with the reason and the fix, exit code 2.

`main()` in cli.py catches `CliError` (raised by commands for an operator's mistake) and the
errors that carry a setting's or a precondition's fix in their message (ValueError for an unset
variable or a refused promotion, PermissionError, FileNotFoundError, MLflow's answers).
"""

from __future__ import annotations


class CliError(Exception):
    """An operator's mistake or a missing precondition: one line with the reason and the fix."""


def quiet_library_notices() -> None:
    """Dagster's beta/preview notices are for whoever writes definitions, and MLflow's INFO lines
    ("Creating initial MLflow database tables...") for whoever debugs it, not for an operator
    running a command: they would bury the one line that matters. A message filter, because the
    category would mean importing dagster first; MLflow reads its level when it is imported."""
    import logging
    import os
    import warnings

    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")
    warnings.filterwarnings("ignore", message=r".*has been superseded")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("mlflow").setLevel(os.environ["MLFLOW_LOGGING_LEVEL"].upper())


def one_line(exc: BaseException) -> str:
    from health_training.constants import DEFAULT_MODEL_NAME

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "not found" in text and DEFAULT_MODEL_NAME in text:
        text += " (see `health-training registry list`)"
    return text
