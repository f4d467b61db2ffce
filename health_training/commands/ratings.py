"""`health-training feedback add|import`: ratings of model answers recorded from the command
line, one typed in or a JSONL/CSV export (stores/feedback_cli.py validates and stores them; the
store scrubs PHI and pseudonymizes user ids)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def cmd_feedback(args: argparse.Namespace) -> int:
    from health_training.resources import feedback_from_env, phi_from_env
    from health_training.stores.feedback_cli import add_feedback_cli, import_feedback_file

    store = feedback_from_env().store()
    pseudonymize = phi_from_env().pseudonymizer()
    if args.action == "add":
        try:
            new_id = add_feedback_cli(
                store,
                pseudonymize,
                query=args.query,
                response=args.response,
                rating=args.rating,
                corrected=args.corrected,
                model_version=args.model_version,
                user_id=args.user,
            )
        except ValueError as exc:
            print(f"health-training feedback add: {exc}", file=sys.stderr)
            return 2
        print(f"stored feedback {new_id}")
        return 0
    path = Path(args.path)
    if not path.is_file():
        print(f"health-training feedback import: cannot read {path}: no such file", file=sys.stderr)
        return 2
    summary = import_feedback_file(store, pseudonymize, path)
    print(json.dumps(summary))
    return 0


def add_parser(sub: Any) -> None:
    fb = sub.add_parser("feedback", help="record ratings of model answers")
    fb_sub = fb.add_subparsers(dest="action", required=True)
    add = fb_sub.add_parser("add", help="one rating")
    add.add_argument("--query", required=True)
    add.add_argument("--response", required=True)
    add.add_argument("--rating", required=True, help="1-5")
    add.add_argument("--corrected", help="the answer it should have given")
    add.add_argument("--model-version", required=True)
    add.add_argument("--user", required=True, help="user id (stored only as a keyed pseudonym)")
    imp = fb_sub.add_parser(
        "import", help="a JSONL or CSV file; bad lines are quarantined beside it"
    )
    imp.add_argument("path")
    fb.set_defaults(func=cmd_feedback)
