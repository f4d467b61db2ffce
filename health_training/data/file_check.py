"""Check an instruction file's bytes: parse and validate every record, count PHI and duplicates.

`check_file(name, data, fmt, vocabulary)` is what `health-training check-file` reports: lines,
accepted and quarantined records (with reasons and the first problems), the PHI findings of every
accepted record's instruction, input and output by kind (`count_phi`'s counts, from
`find_phi_many` on `SCAN_BATCH` records at a time, one model pass each), and duplicates by
`content_key`. It writes nothing.

The PHI scan is per record, so a large JSONL file is checked on every core: `formats.line_format`
says whether the file is read line by line (each line judged alone), its body is cut at line ends
into runs of about `RUN_BYTES`, and forked workers parse and scan one run at a time
(`formats.parse_lines` with the run's first line number). The parts are added up in file order,
so counts, reasons, their order, the first problems and the findings are those of the serial
scan. Forked workers inherit what the parent has loaded (the spaCy model, the lexicons) and
build what it has not once each; each keeps its own `PhiCaches`. Small files, JSON arrays, files
judged whole (binary, one object), machines without `fork` and, unless asked, processes with
other threads are checked in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from health_training.data.config import Vocabulary
from health_training.data.formats import line_format, parse_file, parse_lines
from health_training.data.phi import find_phi_many
from health_training.data.records import IngestResult, content_key

PARALLEL_FROM_BYTES = 4 * 2**20  # smaller files are scanned before a worker pool would start
RUN_BYTES = 2 * 2**20  # a worker's task: about 1,300 ETL records
SCAN_BATCH = 1024  # records whose texts go to the PHI engine (and its NER model) together
PROGRESS_FROM_BYTES = 16 * 2**20  # smaller files finish before a progress bar would help
FIRST_PROBLEMS = 10


@dataclass
class _Part:
    """What a run of records (or the whole file) adds to the summary."""

    lines: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # in file order of first sight
    problems: list[str] = field(default_factory=list)  # the first FIRST_PROBLEMS messages
    phi: Counter[str] = field(default_factory=Counter)  # in file order of first finding
    keys: set[str] = field(default_factory=set)


def check_file(
    name: str,
    data: bytes,
    fmt: str = "auto",
    vocabulary: Vocabulary | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """The summary of `data` (a file's bytes, `name` its path in messages). `workers`: processes
    for the scan; None uses every core this process may run on for files over
    PARALLEL_FROM_BYTES when no other thread runs, a number uses that many for any file read
    line by line."""
    count = available_cores() if workers is None else workers
    wanted = workers is not None or len(data) >= PARALLEL_FROM_BYTES
    lined = line_format(data, fmt) if count > 1 and wanted and _can_fork(workers) else None
    if lined is not None:
        chosen, body = lined
        parts = list(_scan_in_workers(name, body, chosen, vocabulary, count, len(data)))
    else:
        result = parse_file(name, data, fmt, vocabulary)
        bar = _bar(len(result.accepted)) if len(data) >= PROGRESS_FROM_BYTES else None
        with _long_lived():
            chosen, parts = result.format, [_scan(result, bar)]
    return _summary(name, chosen, parts)


def available_cores() -> int:
    """The cores this process may run on (its affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _can_fork(workers: int | None) -> bool:
    """fork exists here and, unless workers were asked for, this process runs no other thread:
    a lock another thread holds at the fork stays held in the child forever (the CLI and the
    benchmark are single-threaded; a server or a Dagster run checks the file in its process)."""
    methods = multiprocessing.get_all_start_methods()
    return "fork" in methods and (workers is not None or threading.active_count() == 1)


@contextmanager
def _long_lived() -> Iterator[None]:
    """Leave what is alive now (the parsed records, a loaded model) out of the cyclic garbage
    collector's passes until the block ends. The scan allocates millions of short-lived objects,
    and each full pass would walk every record again: 5-10 % of the check's CPU."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _scan(result: IngestResult, bar: Any = None) -> _Part:
    part = _Part(result.lines_read, len(result.accepted), len(result.quarantined))
    part.reasons.update(q.reason for q in result.quarantined)
    part.problems = [q.message() for q in result.quarantined[:FIRST_PROBLEMS]]
    for lo in range(0, len(result.accepted), SCAN_BATCH):
        batch = result.accepted[lo : lo + SCAN_BATCH]
        texts = [text for ex in batch for text in (ex.instruction, ex.input, ex.output)]
        for found in find_phi_many(texts):  # the kinds in the order `count_phi` counts them
            part.phi.update(f.kind for f in found)
        part.keys.update(content_key(ex.instruction, ex.input, ex.output) for ex in batch)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return part


def _summary(name: str, chosen: str, parts: list[_Part]) -> dict[str, Any]:
    total = _Part()
    for part in parts:  # in file order: Counter.update keeps the order keys were first seen
        total.lines += part.lines
        total.accepted += part.accepted
        total.quarantined += part.quarantined
        total.reasons.update(part.reasons)
        total.problems += part.problems[: FIRST_PROBLEMS - len(total.problems)]
        total.phi.update(part.phi)
        total.keys |= part.keys
    return {
        "file": name,
        "format": chosen,
        "lines": total.lines,
        "accepted": total.accepted,
        "quarantined": total.quarantined,
        "quarantine_reasons": dict(total.reasons.most_common()),
        "phi_findings": dict(total.phi.most_common()),
        "duplicates": total.accepted - len(total.keys),
        "first_problems": total.problems,
        "empty": total.lines == 0,
    }


# ---------------------------------------------------------------- the scan on several cores

_RUN: dict[str, Any] = {}  # in a worker only: what `_share` handed it at fork


def _scan_in_workers(
    name: str, body: bytes, chosen: str, vocabulary: Vocabulary | None, workers: int, size: int
) -> Iterator[_Part]:
    runs = list(runs_of(body, RUN_BYTES, min_runs=4 * workers))
    if not runs:
        return
    _load_model_once()
    context = multiprocessing.get_context("fork")
    # Fork hands the body to the workers without a copy; each task is three integers.
    with context.Pool(min(workers, len(runs)), _share, (name, body, chosen, vocabulary)) as pool:
        bar = _bar(len(body), unit="B") if size >= PROGRESS_FROM_BYTES else None
        for (start, end, _), part in zip(runs, pool.imap(_scan_run, runs), strict=True):
            if bar is not None:
                bar.update(end - start)
            yield part
        if bar is not None:
            bar.close()


def _load_model_once() -> None:
    """Load the spaCy model here, before the fork, so that the workers share one copy instead of
    each loading its own (about 2.4 s of CPU each) the first time a sentence needs it. A missing
    model is left for that first worker to report, as a check in one process does."""
    from contextlib import suppress

    from health_training.data.phi import NerModelError, ner

    with suppress(NerModelError):
        ner.load()


def runs_of(body: bytes, size: int, min_runs: int = 1) -> Iterator[tuple[int, int, int]]:
    """(start, end, first line number) of consecutive runs of whole lines of `body`, each
    `size` bytes up to the next line end (`size` shrinks so that there are at least `min_runs`
    runs when the body has that many lines)."""
    size = max(1, min(size, len(body) // max(1, min_runs)))
    start, line = 0, 1
    while start < len(body):
        cut = body.find(b"\n", start + size - 1)
        end = len(body) if cut < 0 else cut + 1
        yield start, end, line
        line += body.count(b"\n", start, end)
        start = end


def _share(name: str, body: bytes, chosen: str, vocabulary: Vocabulary | None) -> None:
    # A SIGTERM handler inherited at fork (a server's graceful shutdown, in the same process as
    # the caller) would keep Pool.terminate() from ending this worker: the caller's join then
    # waits forever (seen once in the full test suite). A worker ends when it is told to.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _RUN.update(name=name, body=body, chosen=chosen, vocabulary=vocabulary)


def _scan_run(run: tuple[int, int, int]) -> _Part:
    start, end, first_line = run
    lines = _RUN["body"][start:end]
    result = parse_lines(_RUN["name"], lines, _RUN["chosen"], first_line, _RUN["vocabulary"])
    with _long_lived():
        return _scan(result)


def _bar(total: int, unit: str = "record") -> Any:
    # On stderr, never on stdout: `check-file --json` output stays clean.
    from tqdm import tqdm

    return tqdm(total=total, desc="PHI scan", unit=unit, unit_scale=unit == "B", file=sys.stderr,
                mininterval=1.0)  # fmt: skip
