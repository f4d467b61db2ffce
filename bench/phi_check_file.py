"""Benchmark: `health-training check-file` on a large ETL journal, against the pandas peer's
Safe Harbor rules on the same texts and against a naive pandas check.

    .venv/bin/python bench/phi_check_file.py                     # 100,000 lines, 3 rounds
    .venv/bin/python bench/phi_check_file.py --records 20000 --repeat 1 --no-peer   # quick

One seeded corpus of ETL narratives (`generate_corpus`, six months, ~2% of lines with a PHI note)
is written as one JSONL file in a temp directory. Timed in this process, in `--repeat` rounds
that interleave the runs (the machine is shared: a slow minute hits all of them alike):
- naive pandas check: `json.loads` per line into a DataFrame, then four regexes (`NAIVE_RULES`:
  SSN, phone, e-mail, ZIP) counted with `Series.str.count` over the three text columns (the
  issue-20 baseline; one process);
- ours: `check_file_summary` (what the command runs after reading the file: parse and validate
  every line, count the PHI of instruction, input and output with `count_phi`, count
  duplicates), on every core (the default: forked workers, `data/file_check.py`);
- ours, one process: the same with `workers=1`.
Then once: the pandas peer of `bench/curation.py` on the same bytes (its 28 (regex, replacement)
Safe Harbor rules over the three text columns; `--no-peer` skips it) and the command itself as a
subprocess (interpreter start, imports and model load included). CPU seconds include the
workers'. `contended` is the share of the run in which some task waited for a CPU (Linux PSI).
Figures are ratios within one run; see bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

import pandas as pd
from curation import RULES, TEXT_COLUMNS, cpu_stall_seconds, generate

from health_training.commands.data import check_file_summary
from health_training.data.file_check import available_cores
from health_training.data.phi import ner, scrubber


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


def timed(run: object) -> tuple[float, float, float, object]:
    """Wall seconds, CPU seconds (this process and its reaped children), contention, result."""
    gc.collect()
    scrubber.clear_caches()  # every run starts cold: no verdict of an earlier run is reused
    before, stall, wall = os.times(), cpu_stall_seconds(), time.perf_counter()
    out = run()  # type: ignore[operator]
    wall, after = time.perf_counter() - wall, os.times()
    cpu = sum(after[:4]) - sum(before[:4])
    return wall, cpu, (cpu_stall_seconds() - stall) / wall, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="at least this many lines")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; best counts")
    parser.add_argument("--no-peer", action="store_true", help="skip the 28-rule pandas peer")
    args = parser.parse_args()
    files, users = generate(args.records, args.seed)
    data = b"".join(files[key] for key in sorted(files))
    lines = data.count(b"\n")
    print(f"{lines:,} ETL lines ({len(data) / 2**20:.0f} MiB, {users} users, seed {args.seed}); "
          f"{available_cores()} cores for ours")  # fmt: skip
    ner.load()  # once per process, outside the timings (the subprocess below pays it)

    runs = {
        "naive pandas check: parse + 4 regexes": lambda: naive_check(data),
        "ours: check_file_summary, all cores": lambda: check_file_summary("b.jsonl", data, "auto"),
        "ours: check_file_summary, one process": lambda: check_file_summary(
            "b.jsonl", data, "auto", workers=1
        ),
    }
    best: dict[str, tuple[float, float, float]] = {}
    results: dict[str, object] = {}
    for round_ in range(args.repeat):
        for name, run in runs.items():
            wall, cpu, busy, results[name] = timed(run)
            best[name] = min(best.get(name, (math.inf,) * 3), (wall, cpu, busy))
            print(f"  round {round_ + 1}: {name:<40} {wall:7.2f}s wall {cpu:7.2f}s CPU "
                  f"{busy:4.0%} contended", flush=True)  # fmt: skip
    ours, alone = (results[name] for name in list(runs)[1:])
    assert ours == alone, "the parallel scan must report what the serial scan reports"
    if not args.no_peer:
        wall, cpu, busy, _ = timed(lambda: pandas_peer(data))
        best["pandas peer: parse + 28 rules"] = (wall, cpu, busy)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        path.write_bytes(data)
        command = [str(Path(sys.executable).parent / "health-training"), "check-file", str(path)]
        best["ours: health-training check-file (CLI)"] = timed(
            lambda: subprocess.run([*command, "--json"], check=True, stdout=subprocess.DEVNULL)
        )[:3]

    summary = cast(dict, ours)
    print(f"\naccepted {summary['accepted']:,}, quarantined {summary['quarantined']:,}, "
          f"PHI findings {summary['phi_findings']}; naive check counted "
          f"{results[next(iter(runs))]:,} matches")  # fmt: skip
    naive_wall, naive_cpu, _ = best[next(iter(runs))]
    print(f"\n{'run (best of ' + str(args.repeat) + ' where repeated)':<42} {'wall s':>7} "
          f"{'CPU s':>7} {'lines/s':>9} {'contended':>9} {'vs naive (wall, CPU)':>21}")  # fmt: skip
    for name, (wall, cpu, busy) in best.items():
        print(f"{name:<42} {wall:7.2f} {cpu:7.2f} {lines / wall:9,.0f} {busy:9.0%} "
              f"{naive_wall / wall:12.2f}x {naive_cpu / cpu:7.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
