"""The OpenAI-compatible API against a real server on 127.0.0.1, called with the `openai`
client: chat, streaming, legacy completions, model listing, the base fallback, OpenAI-style
4xx errors, the cache, the number guard, metrics, and logs that never hold prompt text."""

from __future__ import annotations

import contextlib
import logging

import openai
import pytest

from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import HTTP, MODEL

pytestmark = pytest.mark.slow  # each test starts a server (a model load, an MLflow DB)

QUESTION = "Zebrafinch-4417: my glucose averaged 142 mg/dL. How stable was it?"


@pytest.fixture(scope="module")
def server(module_stack):
    """No version registered: the server answers with the bare base."""
    with BackgroundServer(module_stack.app()) as running:
        yield running


def metric(server, line_start: str) -> float:
    """A sample's value from /metrics (0 when absent)."""
    for line in HTTP.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    return 0.0


def client(server, key: str = "anything") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def ask(c: openai.OpenAI, model: str = MODEL, **kwargs):
    kwargs.setdefault("messages", [{"role": "user", "content": QUESTION}])
    return c.chat.completions.create(model=model, max_tokens=12, **kwargs)


def test_base_fallback_chat_stream_and_models(server):
    c = client(server)
    listed = {m.id: m for m in c.models.list()}
    assert set(listed) == {MODEL, f"{MODEL}@base"}
    assert listed[MODEL].model_extra["alias"] == "base"  # no production, no staging

    whole = ask(c)
    extra = whole.model_extra["health_training"]
    assert whole.model == f"{MODEL}@base" and extra["model_version"] == "base"
    assert extra["alias"] == "base" and extra["backend"] == "inprocess"
    assert whole.choices[0].finish_reason in ("stop", "length")
    assert whole.usage.completion_tokens <= 12 and whole.usage.prompt_tokens > 0

    raw = c.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], max_tokens=12
    )
    assert raw.headers["x-model-version"] == "base" and raw.headers["x-model-alias"] == "base"

    chunks = list(ask(c, stream=True, temperature=0, stream_options={"include_usage": True}))
    streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert streamed == whole.choices[0].message.content  # greedy: same answer either way
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    last = [ch for ch in chunks if ch.choices][-1]
    assert last.model_extra["health_training"]["model_version"] == "base"

    text = c.completions.create(model=f"{MODEL}@base", prompt="Glucose 142 mg/dL", max_tokens=6)
    assert text.object == "text_completion" and text.usage.completion_tokens <= 6


def test_cache_hits_only_deterministic_requests(server):
    c = client(server)
    hits = metric(server, 'health_serving_cache_total{result="hit"}')
    messages = [{"role": "user", "content": "How many steps did I walk on Tuesday?"}]
    first, second = ask(c, messages=messages), ask(c, messages=messages)
    assert not first.model_extra["health_training"]["cached"]
    assert second.model_extra["health_training"]["cached"]
    assert second.choices[0].message.content == first.choices[0].message.content
    # How often EOS waited for the computed line's values (line_coverage.py) comes back with it.
    withheld = first.model_extra["health_training"]["eos_withheld"]
    assert (
        isinstance(withheld, int)
        and second.model_extra["health_training"]["eos_withheld"] == withheld
    )
    assert second.id != first.id  # each answer can be rated on its own
    sampled = [ask(c, messages=messages, temperature=0.9) for _ in range(2)]
    assert not any(s.model_extra["health_training"]["cached"] for s in sampled)
    seeded = [ask(c, messages=messages, temperature=0.9, seed=3) for _ in range(2)]
    assert [s.model_extra["health_training"]["cached"] for s in seeded] == [False, True]
    assert metric(server, 'health_serving_cache_total{result="hit"}') == hits + 2


@pytest.mark.parametrize(
    ("kwargs", "status", "param"),
    [
        ({"model": "gpt-4o"}, 404, "model"),
        ({"model": f"{MODEL}@production"}, 404, "model"),  # no production version yet
        ({"messages": []}, 400, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages.0.role"),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, 400, "messages"),
        ({"max_tokens": 10_000}, 400, "max_tokens"),
        ({"max_tokens": 0}, 400, "max_tokens"),
        ({"temperature": 3}, 400, "temperature"),
        ({"n": 2}, 400, "n"),
        ({"extra_body": {"max_tokens": "12"}}, 400, "max_tokens"),
    ],
)
def test_bad_requests_get_openai_errors(server, kwargs, status, param):
    c = client(server)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    body |= kwargs
    with pytest.raises(openai.APIStatusError) as err:
        c.chat.completions.create(**body)
    assert err.value.status_code == status
    error = err.value.body
    assert error["param"] == param and error["message"] and error["type"]


def test_oversized_and_malformed_bodies(server):
    big = {"model": MODEL, "messages": [{"role": "user", "content": "x" * 300_000}]}
    reply = HTTP.post(f"{server.url}/v1/chat/completions", json=big)
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "request_too_large"
    reply = HTTP.post(
        f"{server.url}/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 400 and "JSON" in reply.json()["error"]["message"]
    long_prompt = {"model": MODEL, "messages": [{"role": "user", "content": "glucose " * 3000}]}
    reply = HTTP.post(f"{server.url}/v1/chat/completions", json=long_prompt)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "context_length_exceeded"


def test_number_guard_flags_and_refuses(stack):
    """A raw completion of the base model makes numbers the prompt does not hold (the tiny
    model continues "142" with noise digits); in flag mode the guard names them, and in refuse
    mode the same answer is a 422, whole or streamed."""
    prompts = [f"Glucose {n} mg/dL on day {n}" for n in range(140, 150)]
    with BackgroundServer(stack.app(stack.settings(grounding="flag"))) as server:
        c = client(server)
        answers = [c.completions.create(model=MODEL, prompt=p, max_tokens=8) for p in prompts]
    flagged = [
        (p, a) for p, a in zip(prompts, answers, strict=True)
        if not a.model_extra["health_training"]["grounded"]
    ]  # fmt: skip
    assert flagged, "expected the random model to invent at least one number"
    prompt, answer = flagged[0]
    assert answer.model_extra["health_training"]["unsupported_numbers"]
    assert answer.model_extra["health_training"]["grounding"] == "flagged"
    with BackgroundServer(stack.app(stack.settings(grounding="refuse"))) as server:
        c = client(server)
        with pytest.raises(openai.UnprocessableEntityError) as err:
            c.completions.create(model=MODEL, prompt=prompt, max_tokens=8)
        assert err.value.body["code"] == "ungrounded_answer"
        with pytest.raises(openai.APIError):  # streamed: an error event instead of the text
            list(c.completions.create(model=MODEL, prompt=prompt, max_tokens=8, stream=True))
        assert (
            'health_serving_guard_flags_total{action="refused"} 2.0'
            in HTTP.get(f"{server.url}/metrics").text
        )


def test_logs_carry_ids_and_hashes_never_prompt_text(server, caplog):
    caplog.set_level(logging.INFO, logger="health_training.serving")
    c = client(server)
    answer = ask(c)
    # The tiny model's sampled stream may end in the guard's `ungrounded_answer` event (a number
    # prefix the constraint allowed, then another unit: "5 kcal", seen once in CI); refused or
    # not, the request is logged like any other.
    with contextlib.suppress(openai.APIError):
        list(ask(c, stream=True, temperature=0.5))
    HTTP.post(f"{server.url}/v1/feedback", json={"response_id": answer.id, "rating": 2})
    logged = caplog.text
    assert answer.id in logged  # the request was logged, by id
    # "142" alone can occur inside a random hex id or hash; the prompt's words cannot.
    assert "Zebrafinch" not in logged and "142 mg/dL" not in logged


def test_health_and_metrics(server):
    route = 'health_serving_requests_total{route="/v1/chat/completions",status="200"}'
    before = metric(server, route)
    ask(client(server))
    assert metric(server, route) == before + 1
    health = HTTP.get(f"{server.url}/health").json()
    assert health["status"] == "ok" and health["version"] == "base"
    assert health["backend"] == "inprocess" and health["device"] == "cpu"
    assert health["registry"]["reachable"] and health["feedback_store"]["reachable"]
    assert health["access"] == "loopback only, no keys"
    metrics = HTTP.get(f"{server.url}/metrics").text
    for name in (
        "health_serving_request_seconds_bucket",
        "health_serving_generated_tokens_total",
        "health_serving_tokens_per_second",
        "health_serving_queue_depth",
    ):
        assert name in metrics


def test_an_over_long_prompt_is_refused_before_its_numbers_are_read(server, monkeypatch):
    """Reading a message's numbers grows with its length (a 16,000-character message of names
    and numbers took 45 s before the parser looked only near each number); a prompt over the
    limit is refused before the computed line is built, not after."""
    import health_training.etl.computed as computed

    def never(*_):
        raise AssertionError("the computed line was built for an over-long prompt")

    monkeypatch.setattr(computed, "computed_facts", never)
    hostile = " ".join(f"resting hr {60 + i % 90} bpm, hrv {i % 80} ms;" for i in range(6000))
    body = {"model": MODEL, "messages": [{"role": "user", "content": f"is this ok? {hostile}"}]}
    reply = HTTP.post(f"{server.url}/v1/chat/completions", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "context_length_exceeded"
