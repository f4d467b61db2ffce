"""`health-training train`: a train_and_register run started by hand, queued on this
installation's Dagster instance (the daemon and the GPU launcher place it) or run here with
`--in-process`; it carries the same tags as a run a sensor or the schedule starts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from health_training.constants import TRAIN_JOB, TRAIN_REASONS, training_tags


def cmd_train(args: argparse.Namespace) -> int:
    """Queue a train_and_register run on the Dagster instance (the daemon and the GPU launcher
    place it), or run it here with --in-process."""
    import subprocess

    tags = training_tags(args.reason)
    if args.in_process:
        import dagster as dg

        from health_training.definitions import defs
        from health_training.resources.environment import dagster_instance

        instance = dagster_instance() or dg.DagsterInstance.ephemeral()
        job = defs.resolve_job_def(TRAIN_JOB)
        ok = job.execute_in_process(instance=instance, tags=tags).success
        return 0 if ok else 1
    dagster = str(Path(sys.executable).parent / "dagster")
    cmd = [
        dagster,
        "job",
        "launch",
        "-m",
        "health_training.definitions",
        "-j",
        TRAIN_JOB,
        "--tags",
        json.dumps(tags),
    ]
    return subprocess.call(cmd)


def add_parser(sub: Any) -> None:
    tr = sub.add_parser("train", help="start a train_and_register run by hand")
    tr.add_argument("--reason", default="manual", choices=TRAIN_REASONS)
    tr.add_argument("--in-process", action="store_true", help="run here instead of queueing it")
    tr.set_defaults(func=cmd_train)
