"""Pointing a registry alias at a version when other runs may move it at the same moment.

MLflow's SQL store sets an alias by reading whether it exists and then inserting or updating it.
Two runs that register at once (two overlapping trainings, a promotion during a registration)
can both read "absent" and both insert; the second commit then fails on the alias table's unique
key (sqlite3.IntegrityError, seen in CI). Setting an alias is idempotent and the last writer wins
anyway, so the losing writer tries again: the row now exists, and its second attempt updates it.
"""

from __future__ import annotations

from typing import Any

ALIAS_ATTEMPTS = 3  # a lost race leaves the row present: the second attempt updates it


def set_alias(client: Any, model_name: str, alias: str, version: str | int) -> None:
    """`client.set_registered_model_alias`, tried again when a concurrent writer won the insert."""
    from mlflow.exceptions import MlflowException

    for attempt in range(ALIAS_ATTEMPTS):
        try:
            client.set_registered_model_alias(model_name, alias, version)
            return
        except MlflowException as exc:
            if attempt == ALIAS_ATTEMPTS - 1 or not _lost_insert_race(exc):
                raise


def _lost_insert_race(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__ == "IntegrityError" or "UNIQUE constraint" in str(cause):
            return True
        cause = cause.__cause__
    return False
