"""The command line: check-file on real and hostile files, scrub, generate (idempotent)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from health_training.cli import main
from health_training.data.formats import parse_file
from health_training_tests.conftest import shared_file


def _check(capsys, path, *extra) -> dict:
    assert main(["check-file", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("name", "fmt", "lines", "accepted"),
    [
        ("axolotl_alpaca_fixture.json", "alpaca", 2, 2),
        ("fastchat_dummy_conversation_sharegpt.json", "sharegpt", 500, 500),
        ("openai_toy_chat_fine_tuning.jsonl", "openai", 5, 4),
        ("medquad_sample_300.jsonl", "alpaca", 300, 300),
        ("pubmedqa_sample_100.json", "unknown", 1, 0),
    ],
)
def test_check_file_on_third_party_files(capsys, name, fmt, lines, accepted):
    summary = _check(capsys, shared_file(name))
    assert set(summary) >= {
        "format",
        "lines",
        "accepted",
        "quarantined",
        "quarantine_reasons",
        "phi_findings",
        "duplicates",
    }
    assert (summary["format"], summary["lines"], summary["accepted"]) == (fmt, lines, accepted)
    assert summary["accepted"] + summary["quarantined"] == summary["lines"]
    assert sum(summary["quarantine_reasons"].values()) == summary["quarantined"]


def test_check_file_finds_phi_and_duplicates(tmp_path, capsys):
    record = {
        "instruction": "Summarize",
        "input": "Call Dr. Alice Morgan at (555) 123-4567.",
        "output": "Done.",
    }
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(json.dumps(record) for _ in range(3)) + "\n")
    summary = _check(capsys, path)
    assert summary["duplicates"] == 2
    assert summary["phi_findings"]["phone"] == 3 and summary["phi_findings"]["name"] == 3


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"instruction": "x", "output": ', "invalid_json"),
        (b'{\n  "a": {"b": 1}\n}\n', "json_object_file"),
        (bytes(range(256)) * 40, "binary"),
        (bytes(range(1, 256)) * 40, "binary"),
        (b'[{"instruction": "x", "output": "y"}, ', "invalid_json"),
    ],
)
def test_check_file_never_crashes_on_hostile_files(tmp_path, capsys, content, reason):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    summary = _check(capsys, path)
    assert summary["accepted"] == 0 and summary["quarantined"] == summary["lines"] >= 1
    assert reason in summary["quarantine_reasons"]


@pytest.mark.slow
def test_check_file_on_a_50_mb_line(tmp_path, capsys):
    path = tmp_path / "big.jsonl"
    big = json.dumps({"instruction": "x", "output": "y" * 50_000_000})
    path.write_text(big + "\n" + big[:-1] + "\n")
    summary = _check(capsys, path)
    assert (summary["lines"], summary["accepted"], summary["quarantined"]) == (2, 1, 1)
    assert len(summary["first_problems"][0]) < 2000


def test_a_binary_file_is_one_quarantined_record(tmp_path, capsys):
    path = tmp_path / "journal.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"instruction": "a", "output": "b"}\n' * 2000))
    summary = _check(capsys, path)
    assert (summary["lines"], summary["quarantined"]) == (1, 1)
    assert summary["quarantine_reasons"] == {"binary": 1}


def test_one_bad_line_of_jsonl_is_judged_alone(tmp_path, capsys):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"instruction": "a", "output": "b"}\n\xff\xfe oops\n')
    summary = _check(capsys, path)
    assert (summary["lines"], summary["accepted"], summary["quarantine_reasons"]) == (
        2,
        1,
        {"not_utf8": 1},
    )


def test_an_empty_file_is_said_to_be_empty(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert main(["check-file", str(path), "--strict"]) == 1
    assert "holds no records (empty file)" in capsys.readouterr().err


def test_a_line_over_the_record_limit_is_quarantined_unread():
    line = b'{"instruction": "a", "output": "' + b"y" * 5000 + b'"}'
    result = parse_file("x.jsonl", line + b"\n" + line[:100] + b'"}\n', max_record_bytes=1000)
    assert [q.reason for q in result.quarantined] == ["record_too_large"]
    assert "5,0" in result.quarantined[0].detail and len(result.accepted) == 1


def test_feedback_import_of_a_missing_file_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HEALTH_TRAINING_HOME", str(tmp_path))
    assert main(["feedback", "import", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err


def test_check_file_missing_path_is_a_clear_error(tmp_path, capsys):
    assert main(["check-file", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_strict_mode_fails_on_problems(tmp_path, capsys):
    path = tmp_path / "x.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\nnot json\n')
    assert main(["check-file", str(path), "--strict"]) == 1
    assert "x.jsonl:2: line is not valid JSON" in capsys.readouterr().out


def test_scrub_reads_stdin_and_prints_findings():
    text = "Patient John Smith, SSN 123-45-6789, email john.smith@example.com."
    out = subprocess.run(
        [sys.executable, "-m", "health_training.cli", "scrub", "--json"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out)
    assert "123-45-6789" not in result["text"] and "john.smith@example.com" not in result["text"]
    assert "Smith" not in result["text"]
    assert result["findings"]["ssn"] == 1 and result["findings"]["email"] == 1


def test_generate_writes_the_etl_layout_and_is_idempotent(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HEALTH_TRAINING_HOME", str(tmp_path))
    args = ["generate", "--months", "2025-01:2025-02", "--users", "2", "--seed", "3"]
    assert main(args) == 0
    first = capsys.readouterr().out
    files = sorted((tmp_path / "lake" / "training").rglob("*.jsonl"))
    assert files and all(
        f.name in ("health_journal_2025_01.jsonl", "health_journal_2025_02.jsonl") for f in files
    )
    snapshot = {f: f.read_bytes() for f in files}
    assert main(args) == 0
    second = capsys.readouterr().out
    assert " 0 lines added" in second and "0 lines added" not in first
    assert {f: f.read_bytes() for f in files} == snapshot


def test_bad_month_range_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--months", "2025-13:2025-01"])
    assert "month" in capsys.readouterr().err
