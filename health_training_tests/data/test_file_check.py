"""Tests for `data/file_check.py`: the scan on several processes reports exactly what the serial
scan reports (counts, reasons and their order, first problems with their line numbers, PHI
findings, duplicates), runs of lines cover the file once with the right numbers, and files that
are not read line by line are checked in this process."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import orjson
import pytest

from health_training.cli import main
from health_training.data import file_check
from health_training.data.file_check import check_file, runs_of
from health_training.data.formats import line_format, parse_file, parse_lines
from health_training.etl.generator import generate_corpus


def _journal() -> bytes:
    """Two months of one user's ETL journal with PHI notes, malformed lines and duplicates."""
    corpus = generate_corpus([(2025, 1), (2025, 2)], users=1, seed=3, phi_note_share=0.2,
                             malformed_share=0.05)  # fmt: skip
    data = b"".join(corpus.files[key] for key in sorted(corpus.files))
    lines = data.splitlines(keepends=True)
    return b"".join(lines[:40] + lines[:5] + [b"\n", b"   \r\n"] + lines[40:])  # 5 duplicates


def test_parallel_scan_reports_what_the_serial_scan_reports() -> None:
    data = _journal()
    serial = check_file("journal.jsonl", data, workers=1)
    parallel = check_file("journal.jsonl", data, workers=2)
    assert parallel == serial
    assert json.dumps(parallel) == json.dumps(serial)  # the same order of keys and counts
    assert serial["quarantined"] and serial["phi_findings"]["name"] and serial["duplicates"] >= 5
    assert serial["accepted"] + serial["quarantined"] == serial["lines"]


def test_parallel_scan_of_crlf_bom_and_a_last_line_without_newline() -> None:
    record = {"instruction": "Summarize", "input": "Call Dr. Alice Morgan at (555) 123-4567.",
              "output": "Done."}  # fmt: skip
    good = orjson.dumps(record)
    data = b"\xef\xbb\xbf" + b"\r\n".join([good, b"not json", good, b"", b"[1, 2]"] * 30) + good
    serial = check_file("x.jsonl", data, workers=1)
    assert check_file("x.jsonl", data, workers=2) == serial
    problems = serial["first_problems"]
    assert problems[0].startswith("x.jsonl:2: line is not valid JSON") and len(problems) == 10
    assert problems[-1].startswith("x.jsonl:25: record is an array")  # lines 5k + 2 and 5k + 5


@pytest.mark.parametrize(
    "data",
    [
        b'[{"instruction": "a", "output": "b"}, {"instruction": "Dr. Alice Morgan", "output": "c"}]',
        b'{\n  "a": {"b": 1}\n}\n',
        bytes(range(256)) * 40,
        b"",
    ],
    ids=["json-array", "one-object", "binary", "empty"],
)
def test_files_not_read_line_by_line_give_the_same_summary(data: bytes) -> None:
    assert check_file("f.json", data, workers=2) == check_file("f.json", data, workers=1)


@pytest.mark.parametrize("size", [1, 7, 100, 10_000])
def test_runs_cover_the_body_once_with_their_line_numbers(size: int) -> None:
    body = b"".join(b'{"n": %d}\n' % i if i % 7 else b"\n" for i in range(1, 200)) + b'{"n": 0}'
    runs = list(runs_of(body, size, min_runs=4))
    assert b"".join(body[s:e] for s, e, _ in runs) == body
    assert all(body[s - 1 : s] == b"\n" for s, _, _ in runs[1:])  # cut at line ends only
    numbered = [n for s, e, first in runs for n, _ in enumerate(body[s:e].split(b"\n")[:-1], first)]
    assert numbered == list(range(1, body.count(b"\n") + 1))
    assert len(runs) >= min(4, body.count(b"\n"))


def test_parse_lines_of_runs_add_up_to_parse_file() -> None:
    data = _journal()
    chosen, body = line_format(data)
    whole = parse_file("j.jsonl", data)
    parts = [
        parse_lines("j.jsonl", body[s:e], chosen, first) for s, e, first in runs_of(body, 4096)
    ]
    assert sum(p.lines_read for p in parts) == whole.lines_read
    assert [q for p in parts for q in p.quarantined] == list(whole.quarantined)
    assert [ex for p in parts for ex in p.accepted] == list(whole.accepted)
    assert line_format(b'[{"instruction": "a", "output": "b"}]') is None


def test_the_command_uses_every_core_on_large_files(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(_journal())
    assert main(["check-file", str(path), "--json"]) == 0
    serial = capsys.readouterr().out
    used: list[int] = []
    real = file_check._scan_in_workers
    monkeypatch.setattr(file_check, "PARALLEL_FROM_BYTES", 0)  # as if the file were large
    monkeypatch.setattr(file_check, "available_cores", lambda: 2)
    monkeypatch.setattr(file_check, "_scan_in_workers", lambda *a: used.append(a[4]) or real(*a))
    # The command's process runs one thread; pytest's may hold others from earlier tests.
    monkeypatch.setattr(file_check, "threading", SimpleNamespace(active_count=lambda: 1))
    assert main(["check-file", str(path), "--json"]) == 0
    assert used == [2] and capsys.readouterr().out == serial


def test_a_process_with_other_threads_checks_in_itself(monkeypatch) -> None:
    monkeypatch.setattr(file_check, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(file_check, "available_cores", lambda: 2)
    monkeypatch.setattr(file_check, "_scan_in_workers", lambda *a: pytest.fail("forked"))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        check_file("x.jsonl", b'{"instruction": "a", "output": "b"}\n')
    finally:
        stop.set()
        thread.join()
