"""Tests for `health_training.ml.evaluation.report` (Markdown, HTML with inline charts, JSON round trip,
atomic files, `better_than`) and `health_training.ml.evaluation.judge`: skipped when not configured, and
the real `openai` client against a local HTTP server on 127.0.0.1 that speaks the chat
completions API (scores, unusable replies, server errors, timeouts)."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from health_training.ml.evaluation.judge import (
    NOT_CONFIGURED,
    SYSTEM_PROMPT,
    JudgeResult,
    judge_answers,
)
from health_training.ml.evaluation.report import EvalReport, better_than
from health_training.ml.evaluation.text_metrics import score_predictions

ROWS = [
    {
        "prediction": "Glucose averaged 150 mg/dL.",
        "reference": "Glucose averaged 142 mg/dL.",
        "input": "Mean glucose 142 mg/dL",
        "category": "metabolic_diabetes",
    },
    {
        "prediction": "You slept 7 h.",
        "reference": "You slept 7 h 47 min.",
        "input": "467 min asleep (7 h 47 min)",
        "category": "sleep_recovery",
    },
]


def make_report(**overrides: Any) -> EvalReport:
    tuned_rows = [dict(r, prediction=r["reference"]) for r in ROWS]
    fields: dict[str, Any] = {
        "base_model": "SmolLM2-135M-Instruct",
        "finetuned_model": "SmolLM2-135M-Instruct+lora-r16",
        "dataset_version": "ds-3f2a",
        "n_examples": len(ROWS),
        "models": {
            "base": {"eval_loss": 2.0, "perplexity": math.exp(2.0), **score_predictions(ROWS)},
            "finetuned": {
                "eval_loss": 0.5,
                "perplexity": math.exp(0.5),
                **score_predictions(tuned_rows),
            },
        },
        "created_at": "2025-04-01T02:00:00Z",
        "generation": {"max_new_tokens": 128, "do_sample": False},
        "judge_skipped_reason": NOT_CONFIGURED,
        "samples": [
            {
                "category": "sleep_recovery",
                "input": "467 min asleep <script>alert(1)</script>",
                "reference": "You slept 7 h 47 min.",
                "base": "You slept 7 h.",
                "finetuned": "You slept 7 h 47 min.",
            }
        ],
    }
    return EvalReport(**(fields | overrides))


# ------------------------------------------------------------------ report


def test_markdown_has_both_models_deltas_and_domains() -> None:
    md = make_report().to_markdown()
    assert "SmolLM2-135M-Instruct+lora-r16 vs SmolLM2-135M-Instruct" in md
    head = "| metric | base | fine-tuned | Δ (ft − base) | 95 % CI of Δ | fine-tuned is |"
    assert head in md
    # Without intervals the report gives no verdict: a point difference on 2 examples is noise.
    assert "| response-token loss | 2.0000 | 0.5000 | -1.5000 |  | — |" in md
    assert "| exact match | 0.000 | 1.000 | +1.000 |  | — |" in md
    assert "| hallucinated numbers | 0.500 | 0.000 | -0.500 |  | — |" in md
    assert "| answers with PHI | 0.000 | 0.000 | +0.000 |  | — |" in md
    assert re.search(r"^\| metabolic_diabetes \| 1 \| ", md, re.M)
    assert re.search(r"^\| sleep_recovery \| 1 \| ", md, re.M)
    assert f"LLM judge skipped: {NOT_CONFIGURED}" in md
    assert "max_new_tokens=128" in md and "ds-3f2a" in md
    assert "### 1. sleep_recovery" in md


def test_better_than_respects_direction() -> None:
    wins = better_than(make_report())
    assert wins["eval_loss"] and wins["perplexity"]  # lower is better
    assert wins["rougeL"] and wins["bleu"] and wins["exact_match"]
    assert wins["hallucinated_number_rate"]  # 0.5 -> 0.0
    assert wins["phi_rate"] is False  # a tie is no win
    assert not any(k.startswith("judge_") for k in wins)  # no judge, no judge metrics

    worse = make_report(
        models={
            "base": {"eval_loss": 0.5, "overall": {"hallucinated_number_rate": 0.1, "f1": 0.9}},
            "finetuned": {
                "eval_loss": 0.7,
                "overall": {"hallucinated_number_rate": 0.3, "f1": 0.8},
            },
        }
    )
    assert better_than(worse) == {
        "eval_loss": False,
        "hallucinated_number_rate": False,
        "f1": False,
    }


def test_judge_means_enter_the_report() -> None:
    judge = {
        "base": {"model": "judge-x", "n_scored": 2, "n_requested": 2, "means": {"accuracy": 2.0}},
        "finetuned": {
            "model": "judge-x",
            "n_scored": 2,
            "n_requested": 2,
            "means": {"accuracy": 4.5},
        },
    }
    report = make_report(judge=judge, judge_skipped_reason=None)
    assert better_than(report)["judge_accuracy"] is True
    md = report.to_markdown()
    assert "| judge accuracy (1-5) | 2.00 | 4.50 | +2.50 |  | — |" in md
    assert "LLM judge (judge-x) on base: 2 of 2 scored" in md


def test_html_is_self_contained_with_png_charts(tmp_path: Path) -> None:
    page = make_report().to_html(charts_dir=tmp_path / "charts")
    assert page.startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(img).startswith(b"\x89PNG\r\n\x1a\n") for img in images)
    assert "<script>" not in page and "&lt;script&gt;" in page  # sample text is escaped
    assert "SmolLM2-135M-Instruct+lora-r16" in page and "metabolic_diabetes" in page
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == ["domains.png", "metrics.png"]


def test_write_is_atomic_and_json_round_trips(tmp_path: Path) -> None:
    report = make_report()
    paths = report.write(tmp_path / "out")
    assert {k: p.name for k, p in paths.items()} == {
        "json": "eval_report.json",
        "md": "eval_report.md",
        "html": "eval_report.html",
    }
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in paths.values()
    )  # no temporary files left behind
    data = json.loads(paths["json"].read_text())
    assert data["schema_version"] == 1
    assert EvalReport.from_dict(data) == report
    assert paths["md"].read_text() == report.to_markdown()


def test_non_finite_values_become_null() -> None:
    report = make_report(
        models={
            "base": {"eval_loss": 30.0, "perplexity": math.inf},
            "finetuned": {"eval_loss": 1.0},
        }
    )
    data = json.loads(report.to_json())
    assert data["models"]["base"]["perplexity"] is None
    assert report.value("base", "perplexity") is None
    assert "| perplexity |" not in report.to_markdown()  # no model has a finite one


def _answers(predictions: list[str], loss: float, eos: bool = True):
    from health_training.ml.evaluation.answer_and_compare import ModelAnswers

    n = len(predictions)
    return ModelAnswers(
        predictions=tuple(predictions),
        loss_sum=(loss * 10,) * n,
        loss_tokens=(10,) * n,
        ended_by_eos=(eos,) * n,
        new_tokens=(12,) * n,
        seconds=1.0,
    )


def test_intervals_decide_the_verdict_and_show_in_every_rendering(tmp_path: Path) -> None:
    from health_training.ml.evaluation.answer_and_compare import compare

    rows = [
        {
            "content_key": f"k{i}",
            "category": ("sleep_recovery", "cardiovascular_fitness")[i % 2],
            "instruction": "Interpret this day.",
            "input": f"Resting heart rate {60 + i} bpm, maximum {120 + i} bpm.",
            "output": f"Resting heart rate was {60 + i} bpm. Heart rate peaked at {120 + i} bpm.",
            "facts": {"resting_hr_bpm": 60 + i, "max_hr_bpm": 120 + i},
        }
        for i in range(40)
    ]
    base = _answers([f"Resting heart rate was {120 + i} bpm." for i in range(40)], 2.0, eos=False)
    tuned = _answers([r["output"] for r in rows], 0.4)
    found = compare(rows, base, tuned, resamples=200)
    report = make_report(
        n_examples=40,
        models={"base": found["a"], "finetuned": found["b"]},
        intervals=found["intervals"],
        seconds_per_example={"base": 0.5, "finetuned": 0.4},
        loss_definition="response-token loss",
    )
    assert better_than(report)["fact_accuracy"] and better_than(report)["rougeL"]
    assert better_than(report)["eval_loss"]
    md = report.to_markdown()
    assert re.search(
        r"^\| fact accuracy \| 0\.000 \| 1\.000 \| \+1\.000 \| \[\+1\.000, \+1\.000\] \| better \|",
        md,
        re.M,
    )
    assert "| answers ended by EOS | 0.000 | 1.000 |" in md
    assert "Seconds per example: base 0.50, finetuned 0.40." in md
    assert re.search(r"^\| sleep_recovery \| 20 \| ", md, re.M)
    page = report.to_html()
    assert "95 % CI of Δ" in page and "better" in page
    assert EvalReport.from_dict(json.loads(report.to_json())) == report


def test_report_validation_and_immutability() -> None:
    with pytest.raises(ValueError, match="missing \\['finetuned'\\]"):
        make_report(models={"base": {}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_report().n_examples = 3  # type: ignore[misc]


# ------------------------------------------------------------------ judge


@pytest.mark.parametrize(
    ("base_url", "api_key"), [(None, None), ("http://x/v1", None), (None, "k")]
)
def test_judge_is_skipped_when_not_configured(base_url: str | None, api_key: str | None) -> None:
    result = judge_answers(ROWS, base_url=base_url, api_key=api_key, model="judge-x")
    assert result.skipped and result.reason == NOT_CONFIGURED
    assert result.summary()["means"] == {}


class FakeClient:
    """Duck-typed client for the failure paths that need no HTTP (runs without `openai`)."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.chat = self
        self.completions = self

    def create(self, **request: Any) -> Any:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        message = type("M", (), {"content": outcome})
        return type("R", (), {"choices": [type("C", (), {"message": message})]})


def test_judge_counts_failures_and_stops_after_too_many_in_a_row() -> None:
    ok = '{"accuracy": 4, "safety": 5, "clarity": 3}'
    client = FakeClient([ok, TimeoutError("slow"), "no json", ConnectionError("down"), ok])
    result = judge_answers(
        ROWS * 3, base_url=None, api_key=None, model="m", client=client, max_examples=5
    )
    assert (result.n_requested, result.n_scored, result.n_timeouts, result.n_errors) == (5, 2, 1, 2)
    assert result.means == {"accuracy": 4.0, "safety": 5.0, "clarity": 3.0, "overall": 4.0}

    down = FakeClient([TimeoutError()] * 3)
    result = judge_answers(
        ROWS * 5, base_url=None, api_key=None, model="m", client=down, max_consecutive_failures=3
    )
    assert (result.n_timeouts, result.n_not_attempted) == (3, 7)
    assert result.reason == "stopped after 3 consecutive failures"


Reply = Callable[[dict[str, Any]], tuple[int, Any]]


@pytest.fixture
def chat_server() -> Iterator[tuple[str, list[dict[str, Any]], list[Reply]]]:
    """A local OpenAI-compatible endpoint; `replies[0]` maps a request body to (status, reply):
    a string reply becomes the assistant message, a `threading.Event` holds the answer back
    until it is set. Each request is recorded in `requests` as soon as it arrives."""
    requests: list[dict[str, Any]] = []
    replies: list[Reply] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"path": self.path, "auth": self.headers["Authorization"], **body})
            status, reply = replies[0](body)
            if isinstance(reply, threading.Event):
                reply.wait(timeout=30)  # only a safety net: the test sets it when it is done
                reply = '{"accuracy": 5, "safety": 5, "clarity": 5}'
            payload = {
                "id": f"chatcmpl-{len(requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
            if status != 200:
                payload = {"error": {"message": reply, "type": "server_error"}}
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests, replies
    server.shutdown()
    server.server_close()


def test_judge_scores_through_the_openai_client(chat_server) -> None:
    pytest.importorskip("openai")
    url, requests, replies = chat_server
    answers = iter(
        [
            '{"accuracy": 2, "safety": 4, "clarity": 3, "rationale": "150 is not in the input"}',
            '```json\n{"accuracy": 5, "safety": 5, "clarity": 4, "rationale": "ok"}\n```',
            '{"accuracy": 9, "safety": 5, "clarity": 4}',  # out of range: unusable
        ]
    )
    replies.append(lambda body: (200, next(answers)))
    rows = [dict(ROWS[0], instruction="How was my glucose?"), ROWS[1], ROWS[0], ROWS[1]]
    result = judge_answers(rows, base_url=url, api_key="sk-test", model="judge-x", max_examples=3)
    assert isinstance(result, JudgeResult) and not result.skipped
    assert (result.n_requested, result.n_scored, result.n_errors, result.n_timeouts) == (3, 2, 1, 0)
    assert [s.accuracy for s in result.scores] == [2, 5]
    assert result.means["accuracy"] == 3.5 and result.means["overall"] == pytest.approx(23 / 6)
    assert "accuracy must be an integer 1-5" in result.error_samples[0]
    first = requests[0]
    assert first["path"] == "/v1/chat/completions" and first["auth"] == "Bearer sk-test"
    assert first["model"] == "judge-x" and first["temperature"] == 0
    assert first["response_format"] == {"type": "json_object"}
    assert first["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    user = first["messages"][1]["content"]
    assert "QUESTION:\nHow was my glucose?" in user
    assert "INPUT FACTS:\nMean glucose 142 mg/dL" in user and "150 mg/dL" in user


def test_judge_counts_server_errors_and_timeouts(chat_server) -> None:
    pytest.importorskip("openai")
    url, requests, replies = chat_server
    replies.append(lambda body: (500, "boom"))
    result = judge_answers(ROWS, base_url=url, api_key="k", model="m", max_retries=0)
    assert (result.n_scored, result.n_errors, result.n_timeouts) == (0, 2, 0)
    assert "InternalServerError" in result.error_samples[0]

    answer, arrived = threading.Event(), threading.Semaphore(0)

    def hold(body: dict[str, Any]) -> tuple[int, Any]:
        arrived.release()
        return 200, answer  # the server answers only once the test is done

    replies[0] = hold
    try:
        result = judge_answers(
            ROWS * 5,
            base_url=url,
            api_key="k",
            model="m",
            timeout=0.2,
            max_retries=0,
            max_consecutive_failures=2,
        )
    finally:
        answer.set()
    # Each call gave up waiting (a timeout, not an error), and the judge stopped after two.
    assert (result.n_timeouts, result.n_not_attempted, result.n_scored) == (2, 8, 0)
    assert [e.split(": ", 1)[1] for e in result.error_samples] == ["timeout (APITimeoutError)"] * 2
    # The server saw both calls (it may log the second just after the client gave up on it).
    assert arrived.acquire(timeout=30) and arrived.acquire(timeout=30)
    assert [r["path"] for r in requests[2:]] == ["/v1/chat/completions"] * 2
