"""`health-training review`: list, approve, reject and trust at the command line, on a real
SQLite store (the parser is built here as cli.py builds it: `review.add_parser(sub)`)."""

from __future__ import annotations

import argparse
import json

import pytest

from health_training.commands import review
from health_training.data.feedback import FeedbackRecord
from health_training.data.phi import Pseudonymizer
from health_training.stores.feedback_store import FeedbackStore


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="health-training")
    review.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["review", *argv])
    return args.func(args)


@pytest.fixture
def store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    monkeypatch.setenv("HEALTH_TRAINING_FEEDBACK_URL", url)
    store = FeedbackStore(url)
    record = FeedbackRecord("Glucose 142 mg/dL?", "fine", 1, "3", corrected_response="high",
                            key_id="k_0123456789abcdef", unsupported_numbers=())  # fmt: skip
    flagged = FeedbackRecord("Glucose 150 mg/dL?", "fine", 1, "3", corrected_response="take 37",
                             key_id="k_0123456789abcdef", unsupported_numbers=("37",))  # fmt: skip
    store.add_many([record, flagged], Pseudonymizer(b"k" * 32))
    yield store
    store.dispose()


def test_list_approve_reject_and_trust(store, capsys):
    assert run("list") == 0
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[0]) == {"pending": 2, "approved": 0, "rejected": 0}
    assert "#1 rating 1" in out and "UNSUPPORTED NUMBERS: 37" in out
    assert run("approve", "1", "--by", "Dr A", "--reason", "matches the chart") == 0
    assert "#1: approved by operator:Dr A" in capsys.readouterr().out
    assert run("approve", "2", "--by", "Dr A", "--reason", "ok") == 2  # flagged numbers
    assert "accept-unsupported-numbers" in capsys.readouterr().err
    assert run("reject", "2", "--by", "Dr A", "--reason", "dangerous") == 0
    audit = json.loads(capsys.readouterr().err)
    assert audit["action"] == "review_reject" and audit["actor"] == "operator:Dr A"
    assert [r.corrected_response for r in store.corrections()] == ["high"]
    assert run("trust", "k_0123456789abcdef", "--level", "1", "--reason", "clinic app") == 0
    from health_training.stores.review_queue import ReviewQueue

    assert ReviewQueue(store).trust_levels() == {"k_0123456789abcdef": 1}
