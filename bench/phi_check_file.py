"""Benchmark: `health-training check-file` on a large ETL journal, against the pandas peer's
Safe Harbor rules on the same texts.

    .venv/bin/python bench/phi_check_file.py                     # 100,000 lines
    .venv/bin/python bench/phi_check_file.py --records 20000     # quick

One seeded corpus of ETL narratives (`generate_corpus`, six months, ~2% of lines with a PHI note)
is written as one JSONL file in a temp directory. Timed, one after the other in this process:
- ours: `check_file_summary` (what the command runs after reading the file: parse and validate
  every line, count the PHI of instruction, input and output with `count_phi`, count duplicates);
- pandas: the peer of `bench/curation.py` on the same bytes: `json.loads` per line into a
  DataFrame, then its 28 (regex, replacement) Safe Harbor rules over the three text columns;
- naive pandas check: the same parse, then four regexes (`NAIVE_RULES`: SSN, phone, e-mail,
  ZIP) counted with `Series.str.count` over the three text columns (the issue's baseline).
Then the command itself as a subprocess (interpreter start, imports and model load included).
Figures are ratios within one run; see bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from curation import RULES, TEXT_COLUMNS, generate

from health_training.commands.data import check_file_summary
from health_training.data.phi import engine, ner


def _frame(data: bytes) -> pd.DataFrame:
    records = []
    for line in data.split(b"\n"):
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    df = pd.DataFrame([r for r in records if isinstance(r, dict)])
    df["input"] = df["input"].fillna("")
    return df


def pandas_peer(data: bytes) -> int:
    """Parse every line and apply the peer's rules to the three text columns; texts scrubbed."""
    df = _frame(data)
    for column in TEXT_COLUMNS:
        df[column] = df[column].astype(str)
        for pattern, replacement in RULES:
            df[column] = df[column].str.replace(pattern, replacement, regex=True)
    return len(df) * len(TEXT_COLUMNS)


# The naive check's four regexes: what a quick pandas PHI check would count.
NAIVE_RULES = (
    r"\b\d{3}-\d{2}-\d{4}\b",  # SSN
    r"\(?\b\d{3}\)?[-.\s]?\d{3}[-.\s]\d{4}\b",  # US phone
    r"[\w.+-]+@[\w-]+\.[\w.-]+",  # e-mail
    r"\b\d{5}(?:-\d{4})?\b",  # ZIP
)


def naive_check(data: bytes) -> int:
    """Parse every line, then count four regexes' matches in the three text columns."""
    df = _frame(data)
    found = 0
    for column in TEXT_COLUMNS:
        texts = df[column].astype(str)
        for pattern in NAIVE_RULES:
            found += int(texts.str.count(pattern).sum())
    return found


def timed(run: object) -> tuple[float, float, object]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    out = run()  # type: ignore[operator]
    return time.perf_counter() - wall, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="at least this many lines")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files, users = generate(args.records, args.seed)
    data = b"".join(files[key] for key in sorted(files))
    lines = data.count(b"\n")
    print(f"{lines:,} ETL lines ({len(data) / 2**20:.0f} MiB, {users} users, seed {args.seed})")
    ner.load()  # once per process, outside the timings (the subprocess below pays it)

    engine.clear_caches()
    ours_wall, ours_cpu, summary = timed(lambda: check_file_summary("bench.jsonl", data, "auto"))
    peer_wall, peer_cpu, texts = timed(lambda: pandas_peer(data))
    naive_wall, naive_cpu, naive_found = timed(lambda: naive_check(data))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        path.write_bytes(data)
        command = [str(Path(sys.executable).parent / "health-training"), "check-file", str(path)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([*command, "--json"], check=True, stdout=subprocess.DEVNULL)
        cli_wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    print(f"accepted {summary['accepted']:,}, quarantined {summary['quarantined']:,}, "
          f"PHI findings {summary['phi_findings']}; pandas peer scrubbed {texts:,} texts; "
          f"naive check counted {naive_found:,} matches")  # fmt: skip
    print(f"\n{'run':<40} {'wall s':>8} {'CPU s':>8} {'lines/s':>9} {'vs pandas (wall, CPU)':>22}"
          f" {'vs naive check (wall, CPU)':>27}")  # fmt: skip
    for name, wall, cpu in [
        ("ours: check_file_summary (in process)", ours_wall, ours_cpu),
        ("pandas peer: parse + 28 rules", peer_wall, peer_cpu),
        ("naive pandas check: parse + 4 regexes", naive_wall, naive_cpu),
        ("ours: health-training check-file (CLI)", cli_wall, cli_cpu),
    ]:
        print(f"{name:<40} {wall:8.2f} {cpu:8.2f} {lines / wall:9,.0f} "
              f"{peer_wall / wall:10.2f}x {peer_cpu / cpu:9.2f}x "
              f"{naive_wall / wall:14.2f}x {naive_cpu / cpu:9.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
