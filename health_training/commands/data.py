"""The data commands of `health-training`: generate ETL journals, check a file, scrub text.

Each `cmd_*` takes the parsed arguments and returns the exit code; `cli.py` builds the parser.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def months_spec(spec: str) -> list[tuple[int, int]]:
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
    from health_training.etl.generator import generate_corpus
    from health_training.etl.journal import append_to_journal
    from health_training.resources import storage_from_env

    storage = storage_from_env()
    corpus = generate_corpus(
        args.months,
        args.users,
        args.seed,
        phi_note_share=args.phi_share,
        malformed_share=args.malformed_share,
        question_share=args.question_share,
        day_summary_share=args.day_summary_share,
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


def check_file_summary(
    name: str, data: bytes, fmt: str, config: str | None = None, workers: int | None = None
) -> dict:
    """Parse, validate and PHI-scan a file's bytes; writes nothing. `config` names the data
    policy YAML whose vocabulary reads the ETL metadata (default: the bundled one); `workers`:
    processes for the scan (default: every core, for files large enough; `data/file_check.py`)."""
    from health_training.data.config import load_data_config
    from health_training.data.file_check import check_file

    return check_file(name, data, fmt, load_data_config(config).vocabulary, workers)


def cmd_check_file(args: argparse.Namespace) -> int:
    path = Path(args.path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"health-training check-file: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    summary = check_file_summary(str(path), data, args.format, args.config)
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
    if summary["empty"]:
        print(f"health-training check-file: {path} holds no records (empty file)", file=sys.stderr)
    problems = summary["quarantined"] or summary["phi_findings"] or summary["empty"]
    return 1 if args.strict and problems else 0


def cmd_scrub(args: argparse.Namespace) -> int:
    from health_training.data.phi import NerModelError, PhiInputError, scrub_phi

    try:
        result = scrub_phi(sys.stdin.read())
    except (PhiInputError, NerModelError) as exc:
        print(f"health-training scrub: {exc}", file=sys.stderr)
        return 2
    if args.json:
        # Each span by offsets into the input, type and detector: never the span's text, so the
        # output can be logged or shared; the user slices their own input if they need it.
        spans = [
            {"kind": f.kind, "start": f.start, "end": f.end, "detector": f.detector}
            for f in result.findings
        ]
        summary = {
            "text": result.text,
            "findings": result.counts,
            "spans": spans,
            "ner_gate": result.gate.as_dict(),
        }
        print(json.dumps(summary, ensure_ascii=False))
    else:
        sys.stdout.write(result.text)
    return 0
