"""`health-training serve`: the registered model behind an OpenAI-compatible API
(health_training/serving; settings from the flags, configs/serving.yaml and the environment)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from health_training.serving.settings import GROUNDING_MODES


def cmd_serve(args: argparse.Namespace) -> int:
    """The registered model behind an OpenAI-compatible API (health_training/serving)."""
    from health_training.serving.server import run_server, settings_from_env

    try:
        settings = settings_from_env(
            host=args.host,
            port=args.port,
            backend=args.backend,
            upstream_url=args.upstream_url or "",
            grounding="refuse" if args.refuse_ungrounded else args.grounding,
            admission=args.admission,
            withhold_eos=not args.no_withhold_eos,
            dagster_host=args.dagster.rpartition(":")[0] or "127.0.0.1",
            dagster_port=int(args.dagster.rpartition(":")[2]),
        )
    except (PermissionError, ValueError) as exc:
        print(f"health-training serve: {exc}", file=sys.stderr)
        return 2
    run_server(settings)
    return 0


def add_parser(sub: Any) -> None:
    srv = sub.add_parser("serve", help="serve the registered model (OpenAI-compatible API)")
    srv.add_argument("--host", default="127.0.0.1", help="other than loopback needs API keys")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--backend", choices=("inprocess", "upstream"), default="inprocess")
    srv.add_argument("--upstream-url", help="OpenAI-compatible server, e.g. http://gpu:8001/v1")
    srv.add_argument(
        "--grounding",
        choices=GROUNDING_MODES,
        default="regenerate",
        help="an answer with numbers the request does not support: decode again under the "
        "number constraint, then 422 (regenerate); always constrain (constrain); 422 at once "
        "(refuse); list them only (flag). See docs/grounding.md",
    )
    srv.add_argument(
        "--refuse-ungrounded",
        action="store_true",
        help="the same as --grounding refuse",
    )
    srv.add_argument(
        "--no-withhold-eos",
        action="store_true",
        help="let an answer end before it states the computed line's values (by default EOS "
        "waits a few dozen tokens for them; see docs/grounding.md)",
    )
    srv.add_argument(
        "--admission",
        help="an admission profile of configs/serving.yaml: latency (the default there: an "
        "admitted request is answered about as fast as on an idle server; the rest get a 429) "
        "or throughput (about twice the requests a second, each answered several times slower)",
    )
    srv.add_argument(
        "--dagster",
        default="127.0.0.1:3000",
        help="HOST:PORT of the Dagster webserver the admin API starts runs on",
    )
    srv.set_defaults(func=cmd_serve)
