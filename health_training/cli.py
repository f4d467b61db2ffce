"""The `health-training` command: generate ETL data, check a file, scrub text, show the dataset.

health-training generate --months 2025-01:2025-03 --users 50 --seed 7
health-training check-file PATH [--format auto|etl|alpaca|sharegpt|openai] [--json]
echo "Call Dr. Alice Morgan at 555-123-4567" | health-training scrub [--json]
health-training dataset manifest
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from health_training.data.formats import FORMATS


def _months(spec: str) -> list[tuple[int, int]]:
    """`2025-01:2025-03` → [(2025, 1), (2025, 2), (2025, 3)]; a single `2025-02` works too."""
    start, _, end = spec.partition(":")
    try:
        y, m = (int(p) for p in start.split("-"))
        ey, em = (int(p) for p in (end or start).split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"months must look like 2025-01:2025-03, got {spec!r}"
        ) from None
    if not (1 <= m <= 12 and 1 <= em <= 12) or (ey, em) < (y, m):
        raise argparse.ArgumentTypeError(f"bad month range {spec!r}")
    out = []
    while (y, m) <= (ey, em):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def cmd_generate(args: argparse.Namespace) -> int:
    from health_training.data.etl import append_to_journal
    from health_training.data.generator import generate_corpus
    from health_training.resources import storage_from_env

    storage = storage_from_env()
    corpus = generate_corpus(
        args.months,
        args.users,
        args.seed,
        phi_note_share=args.phi_share,
        malformed_share=args.malformed_share,
    )
    added = skipped = 0
    for key, data in sorted(corpus.files.items()):
        result = append_to_journal(storage.read_optional(key), data.splitlines())
        if result.added:
            storage.write_bytes(key, result.data)
        added, skipped = added + result.added, skipped + result.skipped
    print(
        f"generated {corpus.examples} examples ({corpus.malformed} malformed lines) in "
        f"{len(corpus.files)} files under {storage.uri('training/')}: {added} lines added, "
        f"{skipped} already present"
    )
    return 0


def check_file_summary(name: str, data: bytes, fmt: str) -> dict:
    """Parse, validate and PHI-scan a file's bytes; writes nothing."""
    from health_training.data.formats import parse_file
    from health_training.data.phi import count_phi
    from health_training.data.records import content_key

    result = parse_file(name, data, fmt)
    phi: Counter[str] = Counter()
    keys: Counter[str] = Counter()
    for ex in result.accepted:
        for text in (ex.instruction, ex.input, ex.output):
            phi.update(count_phi(text))
        keys[content_key(ex.instruction, ex.input, ex.output)] += 1
    return {
        "file": name,
        "format": result.format,
        "lines": result.lines_read,
        "accepted": len(result.accepted),
        "quarantined": len(result.quarantined),
        "quarantine_reasons": result.quarantine_reasons,
        "phi_findings": dict(phi.most_common()),
        "duplicates": sum(n - 1 for n in keys.values()),
        "first_problems": [q.message() for q in result.quarantined[:10]],
    }


def cmd_check_file(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"health-training check-file: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    summary = check_file_summary(str(path), data, args.format)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(
            f"{path}: {summary['format']} — {summary['lines']} lines, {summary['accepted']} accepted, "
            f"{summary['quarantined']} quarantined, {summary['duplicates']} duplicates"
        )
        for reason, n in summary["quarantine_reasons"].items():
            print(f"  quarantined {reason}: {n}")
        for kind, n in summary["phi_findings"].items():
            print(f"  PHI {kind}: {n}")
        for line in summary["first_problems"]:
            print(f"  {line}")
    problems = summary["quarantined"] or summary["phi_findings"]
    return 1 if args.strict and problems else 0


def cmd_scrub(args: argparse.Namespace) -> int:
    from health_training.data.phi import scrub_phi

    result = scrub_phi(sys.stdin.read())
    if args.json:
        print(json.dumps({"text": result.text, "findings": result.counts}, ensure_ascii=False))
    else:
        sys.stdout.write(result.text)
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    from health_training.checks import current_manifest
    from health_training.resources import storage_from_env

    storage = storage_from_env()
    try:
        manifest = current_manifest(storage)
    except FileNotFoundError:
        print(
            "no training dataset yet: run `make demo` or materialize training_dataset",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(manifest, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="health-training",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write realistic ETL training JSONL for users × months")
    gen.add_argument("--months", type=_months, required=True, help="e.g. 2025-01:2025-03")
    gen.add_argument("--users", type=int, default=50)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--phi-share", type=float, default=0.02, help="share of examples with PHI notes"
    )
    gen.add_argument(
        "--malformed-share", type=float, default=0.005, help="share of corrupted lines"
    )
    gen.set_defaults(func=cmd_generate)

    chk = sub.add_parser("check-file", help="parse, validate and PHI-scan a file; writes nothing")
    chk.add_argument("path")
    chk.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    chk.add_argument("--json", action="store_true", help="print one JSON object")
    chk.add_argument("--strict", action="store_true", help="exit 1 on any quarantine or PHI")
    chk.set_defaults(func=cmd_check_file)

    scr = sub.add_parser("scrub", help="scrub PHI from text on stdin")
    scr.add_argument("--json", action="store_true", help="print the text and the findings as JSON")
    scr.set_defaults(func=cmd_scrub)

    ds = sub.add_parser("dataset", help="show the current training dataset")
    ds.add_argument("what", choices=("manifest",))
    ds.set_defaults(func=cmd_dataset)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
