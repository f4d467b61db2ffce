"""bench/freeform_serve_check.py against a real HTTP server with the real `openai` client: a
server error on one question is that question's failed answer, and the run goes on (check set K
found a 500 that had stopped a whole run and lost every answer after it)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from health_training_tests.serving.background_server import BackgroundServer

CHECK = Path(__file__).resolve().parents[2] / "bench" / "freeform_serve_check.py"
QUESTIONS = [
    {
        "question": "resting hr 57 this morning, is that ok?",
        "asked": [{"value": 57, "unit": "bpm"}],
    },
    {"question": "ran 7,9 km in 41 min, my pace?", "asked": [{"value": 5.2, "unit": "min"}]},
    {"question": "what was my hrv trend this month?", "cannot_answer": True},
]
ANSWERS = {  # what the stand-in model answers; "7,9 km" crashes it, as the guard once did
    QUESTIONS[0]["question"]: "Your resting heart rate was 57 bpm, within the usual range.",
    QUESTIONS[2]["question"]: "One day of HRV is given: I can't tell a month's trend from it.",
}


def _load_check():
    spec = importlib.util.spec_from_file_location("freeform_serve_check", CHECK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _app():
    # FastAPI reads the handler's annotations at import level: a local import would leave
    # `Request` a string it cannot resolve, and the request a query parameter (a 422).
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request):
        body = await request.json()
        question = body["messages"][-1]["content"]
        if question not in ANSWERS:
            return JSONResponse({"error": {"message": "internal error"}}, status_code=500)
        message = {"role": "assistant", "content": ANSWERS[question]}
        return {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "health_training": {"grounding": "as_generated", "unsupported_numbers": []},
        }  # fmt: skip

    return app


@pytest.mark.timeout(120)  # a hang guard only
def test_a_server_error_is_a_failed_answer_and_the_run_goes_on():
    import openai

    check = _load_check()
    with BackgroundServer(_app()) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
        answers = check.ask_all(client, "health-query-olmo", QUESTIONS)
    assert [a["finish_reason"] for a in answers] == ["stop", "server_error", "stop"]
    figures = check.score(QUESTIONS, answers)
    assert figures["server_errors"] == 1
    assert figures["refused"] == 0
    assert figures["stopped_by_themselves"] == 2
    assert figures["addressed"] == 2
    assert [a["addressed"] for a in answers] == [True, False, True]
