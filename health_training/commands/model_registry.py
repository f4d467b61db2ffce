"""`health-training registry list|promote|rollback`: the registered versions with their aliases
and gate results, and a person moving `production` (the same promotion as the `promote_model`
job and the admin API: ml/registry/version_gate.py records who, when and why)."""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from health_training.commands.cli_errors import CliError


def _promote(registry: Any, name: str, args: argparse.Namespace) -> None:
    from health_training.ml.registry import version_gate
    from health_training.ml.registry.promotion import GateRefused

    try:
        version_gate.promote_recorded(
            registry,
            args.version,
            approved_by=args.by or getpass.getuser(),
            reason=args.reason,
            force=args.force,
        )
    except GateRefused as exc:
        reason = str(exc).split(" (force")[0]
        raise CliError(f"{reason}; to promote it anyway, on the record: add --force") from None
    print(f"{name} v{args.version} is now production")


def _rollback(registry: Any, name: str, args: argparse.Namespace) -> None:
    from health_training.ml.registry import version_gate
    from health_training.ml.registry.promotion import NothingToRollBack

    try:
        restored = registry.rollback(
            by=args.by or getpass.getuser(), reason=args.reason, now=version_gate.now()
        )
    except NothingToRollBack as exc:
        raise CliError(
            f"{str(exc).split(' (')[0]}; put a version in production instead: "
            "health-training registry promote VERSION --reason ..."
        ) from None
    print(f"{name}: production restored to v{restored}")


def _list(registry: Any, name: str) -> None:
    from health_training.constants import APPROVED_BY_TAG, GATE_TAG, REASON_RUN_TAG

    client = registry.client
    if not client.search_model_versions(f"name='{name}'", max_results=1):
        print(f"{name} has no registered versions yet: `health-training train` registers one")
        return
    by_version: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    for mv in sorted(client.search_model_versions(f"name='{name}'"), key=lambda m: int(m.version)):
        aliases = ",".join(sorted(by_version.get(str(mv.version), [])))
        gate = json.loads(mv.tags.get(GATE_TAG, "{}")).get("passed")
        print(
            f"v{mv.version}\t{aliases or '-'}\tgate={gate}"
            f"\treason={mv.tags.get(REASON_RUN_TAG, '')}"
            f"\tpromoted_by={mv.tags.get(APPROVED_BY_TAG, '')}"
        )


def cmd_registry(args: argparse.Namespace) -> int:
    from health_training.resources import mlflow_from_env

    mlflow = mlflow_from_env()
    registry = mlflow.registry()
    if args.action == "promote":
        _promote(registry, mlflow.model_name, args)
    elif args.action == "rollback":
        _rollback(registry, mlflow.model_name, args)
    else:
        _list(registry, mlflow.model_name)
    return 0


def add_parser(sub: Any) -> None:
    reg = sub.add_parser("registry", help="list, promote or roll back registered versions")
    reg_sub = reg.add_subparsers(dest="action", required=True)
    reg_sub.add_parser("list")
    pro = reg_sub.add_parser("promote", help="move production to VERSION after a person approves")
    pro.add_argument("version")
    pro.add_argument("--reason", required=True)
    pro.add_argument("--by", help="who approves (default: the current user)")
    pro.add_argument("--force", action="store_true", help="promote although the gate failed")
    rb = reg_sub.add_parser("rollback", help="restore the previous production version")
    rb.add_argument("--reason", required=True)
    rb.add_argument("--by")
    reg.set_defaults(func=cmd_registry)
