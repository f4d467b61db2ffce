"""The `health-training` command: generate ETL data, check a file, scrub text, show the dataset.

health-training generate --months 2025-01:2025-03 --users 50 --seed 7
health-training check-file PATH [--format auto|etl|alpaca|sharegpt|openai] [--json]
echo "Call Dr. Alice Morgan at 555-123-4567" | health-training scrub [--json]
health-training dataset manifest
health-training serve [--host 127.0.0.1] [--port 8000] [--backend inprocess|upstream]
"""

from __future__ import annotations

import argparse
import sys

from health_training.commands import (
    base_models,
    clinic,
    model_registry,
    pipeline_outputs,
    ratings,
    review,
    serve,
    training_runs,
)
from health_training.commands.cli_errors import CliError, one_line, quiet_library_notices
from health_training.commands.data import (
    check_file_summary,
    cmd_check_file,
    cmd_generate,
    cmd_scrub,
    months_spec,
)
from health_training.data.formats import FORMATS

__all__ = ["build_parser", "check_file_summary", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="health-training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write realistic ETL training JSONL for users × months")
    gen.add_argument("--months", type=months_spec, required=True, help="e.g. 2025-01:2025-03")
    gen.add_argument("--users", type=int, default=50)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--phi-share", type=float, default=0.02, help="share of examples with PHI notes"
    )
    gen.add_argument(
        "--malformed-share", type=float, default=0.005, help="share of corrupted lines"
    )
    gen.add_argument(
        "--question-share",
        type=float,
        default=0.25,
        help="share of batches that also get a question example (0 for narratives only)",
    )
    gen.add_argument(
        "--day-summary-share",
        type=float,
        default=0.15,
        help="share of user-days (two or more record types) that get a day summary, and (drawn "
        "apart) a message stating the day's numbers",
    )
    gen.set_defaults(func=cmd_generate)

    chk = sub.add_parser("check-file", help="parse, validate and PHI-scan a file; writes nothing")
    chk.add_argument("path")
    chk.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    chk.add_argument("--json", action="store_true", help="print one JSON object")
    chk.add_argument("--strict", action="store_true", help="exit 1 on any quarantine or PHI")
    chk.add_argument("--config", help="data policy YAML (its vocabulary); default: the bundled one")
    chk.set_defaults(func=cmd_check_file)

    scr = sub.add_parser("scrub", help="scrub PHI from text on stdin")
    scr.add_argument(
        "--json",
        action="store_true",
        help="print the text, counts per type, and each span's offsets, type and detector as JSON",
    )
    scr.set_defaults(func=cmd_scrub)

    pipeline_outputs.add_parser(sub)
    base_models.add_parser(sub)
    model_registry.add_parser(sub)
    training_runs.add_parser(sub)
    ratings.add_parser(sub)
    serve.add_parser(sub)
    clinic.add_parser(sub)
    review.add_parser(sub)

    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_library_notices()
    args = build_parser().parse_args(argv)
    command = " ".join(str(v) for v in (args.command, getattr(args, "action", None)) if v)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"health-training {command}: {exc}", file=sys.stderr)
        return 2
    except (ValueError, PermissionError, FileNotFoundError, ConnectionError) as exc:
        # Settings and preconditions (an unset variable, a missing file, a refused promotion):
        # the message carries the fix; a traceback would bury it.
        print(f"health-training {command}: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if type(exc).__name__ != "MlflowException":  # MLflow's errors are the registry's answers
            raise
        print(f"health-training {command}: {one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
