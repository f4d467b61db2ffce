"""`health-training review`: the review queue of corrections, and trust levels, at the command
line (the admin API's /admin/review and /admin/trust do the same over HTTP).

    health-training review list                        # pending corrections, oldest first
    health-training review list --status approved
    health-training review approve 12 --by "Dr A" --reason "matches the chart"
    health-training review approve 13 --by "Dr A" --reason "dose checked" --accept-unsupported-numbers
    health-training review reject 14 --by "Dr A" --reason "dangerous advice"
    health-training review trust k_3f0c5e... --level 1 --by "Dr A" --reason "the clinic's app"

Only approved corrections become training examples; the preference stage hears only keys with a
trust level. Decisions are recorded with who (`operator:<--by>` at the CLI), when and why, and
one audit line is printed to stderr as JSON.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

TEXT_CHARS = 160  # of each text in the listing: enough to judge, not a page


def _cut(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= TEXT_CHARS else flat[: TEXT_CHARS - 1] + "…"


def _queue() -> Any:
    from health_training.resources import feedback_from_env
    from health_training.stores.review_queue import ReviewQueue

    return ReviewQueue(feedback_from_env().store())


def _audit(action: str, target: str, by: str, **change: Any) -> None:
    from datetime import UTC, datetime

    line = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "actor": by,
            "action": action, "target": target, "change": change}  # fmt: skip
    print(json.dumps(line, sort_keys=True), file=sys.stderr)


def cmd_review(args: argparse.Namespace) -> int:
    from health_training.stores.review_queue import ReviewError

    queue = _queue()
    if args.action == "list":
        rows = queue.list(args.status, args.limit)
        print(json.dumps(queue.counts()))
        for row in rows:
            flag = (
                f"  UNSUPPORTED NUMBERS: {row.unsupported_numbers}"
                if row.unsupported_numbers
                else ""
            )
            print(f"#{row.id} rating {row.rating} v{row.model_version} key {row.key_id or '-'} "
                  f"tenant {row.tenant or '-'}{flag}")  # fmt: skip
            print(f"  question:   {_cut(row.query)}")
            print(f"  answer:     {_cut(row.response)}")
            print(f"  correction: {_cut(row.corrected_response)}")
            if row.review_status != "pending":
                print(f"  {row.review_status} by {row.reviewed_by} at {row.reviewed_at}: "
                      f"{_cut(row.review_reason)}")  # fmt: skip
        return 0
    by = f"operator:{args.by or getpass.getuser()}"
    try:
        if args.action == "trust":
            queue.set_trust(args.key_id, args.level, by=by, reason=args.reason)
            _audit("set_trust", f"key {args.key_id}", by, level=args.level, reason=args.reason)
            print(f"{args.key_id}: trust level {args.level}")
            return 0
        row = queue.decide(
            args.feedback_id,
            approve=args.action == "approve",
            by=by,
            reason=args.reason,
            accept_unsupported_numbers=args.accept_unsupported_numbers,
        )
    except ReviewError as exc:
        print(f"health-training review: {exc}", file=sys.stderr)
        return 2
    _audit(f"review_{args.action}", f"feedback {row.id}", by, reason=args.reason)
    print(f"#{row.id}: {row.review_status} by {row.reviewed_by}")
    return 0


def add_parser(sub: Any) -> None:
    rv = sub.add_parser("review", help="approve or reject corrections; set keys' trust levels")
    actions = rv.add_subparsers(dest="action", required=True)
    ls = actions.add_parser("list", help="corrections by review status, oldest first")
    ls.add_argument("--status", default="pending", choices=("pending", "approved", "rejected"))
    ls.add_argument("--limit", type=int, default=50)
    for name in ("approve", "reject"):
        p = actions.add_parser(name, help=f"{name} one pending correction")
        p.add_argument("feedback_id", type=int)
        p.add_argument("--reason", required=True, help="why (stored with the decision)")
        p.add_argument("--by", help="who decides (default: the login name)")
        p.add_argument(
            "--accept-unsupported-numbers",
            action="store_true",
            help="approve although the number guard flagged the correction's numbers",
        )
    tr = actions.add_parser("trust", help="set an API key's trust level (0, 1, 2)")
    tr.add_argument("key_id", help="the key id from the logs or the review list (k_...)")
    tr.add_argument("--level", type=int, required=True, choices=(0, 1, 2))
    tr.add_argument("--reason", required=True)
    tr.add_argument("--by", help="who decides (default: the login name)")
    rv.set_defaults(func=cmd_review)
