"""`health-training dataset manifest` and `health-training report`: what the pipeline produced,
read from the lake. Without a version or a run identity they show what the latest
materialization of `training_dataset` or `eval_report` recorded on this installation's Dagster
instance (else the lake's newest dataset version)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def latest_metadata(asset: str) -> dict:
    """The metadata of an asset's latest materialization on this installation's instance ({}
    without an instance, or before the first materialization)."""
    import dagster as dg

    from health_training.resources.environment import dagster_instance

    instance = dagster_instance()
    if instance is None:
        return {}
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    if not records or records[0].asset_materialization is None:
        return {}
    return {k: v.value for k, v in records[0].asset_materialization.metadata.items()}


def cmd_dataset(args: argparse.Namespace) -> int:
    from health_training.data.dataset_repository import DatasetRepository
    from health_training.resources import storage_from_env

    repo = DatasetRepository(storage_from_env())
    # The version training_dataset last produced; the lake's version history without an instance.
    version = args.version or latest_metadata("training_dataset").get("version")
    version = version or (repo.versions() or [None])[-1]
    if version is None:
        print(
            "no training dataset yet: run `make demo` or materialize training_dataset",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(repo.manifest(str(version)), indent=2))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The evaluation report of a training run (default: the latest eval_report's)."""
    from health_training.data import layout
    from health_training.resources import storage_from_env

    identity = args.identity or latest_metadata("eval_report").get("run_identity")
    if not identity:
        print("no evaluation yet (or DAGSTER_HOME unset): run `make demo`", file=sys.stderr)
        return 1
    storage = storage_from_env()
    key = layout.model_run(str(identity), "eval/eval_report.md")
    if not storage.exists(key):
        print(f"{storage.uri(key)} does not exist", file=sys.stderr)
        return 1
    print(storage.read_bytes(key).decode())
    for name in ("eval/eval_report.html", "emissions/report.html"):
        if storage.exists(layout.model_run(str(identity), name)):
            print(f"report: {storage.uri(layout.model_run(str(identity), name))}")
    return 0


def add_parser(sub: Any) -> None:
    ds = sub.add_parser("dataset", help="show the current training dataset")
    ds.add_argument("what", choices=("manifest",))
    ds.add_argument("--version", help="a dataset version (default: the latest training_dataset's)")
    ds.set_defaults(func=cmd_dataset)

    rep = sub.add_parser("report", help="the latest run's evaluation table and report paths")
    rep.add_argument("--identity", help="a training run identity (default: the latest evaluated)")
    rep.set_defaults(func=cmd_report)
