"""The security review's findings, replayed against a real server on 127.0.0.1 with real clients:
one bad request stays local (4xx or a 500 of its own, and the server answers the next one), the
worker is supervised, the queue and the quotas are bounded (429 + Retry-After), a request has a
deadline, /health says nothing to strangers, /metrics and /docs are closed, the keyless server
checks the Host header, and spans trace a request through the worker."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from health_training.serving.http import request_bodies
from health_training_tests.events import DEADLINE, wait_until
from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import API_KEY, HTTP, MODEL

pytestmark = pytest.mark.slow  # each test starts a server (a model load, an MLflow DB)

CHAT = "/v1/chat/completions"
QUESTION = [{"role": "user", "content": "My glucose averaged 142 mg/dL. How was it?"}]


def client(server, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def ask(server, key: str = "none", **kwargs):
    kwargs.setdefault("max_tokens", 4)
    return client(server, key).chat.completions.create(model=MODEL, messages=QUESTION, **kwargs)


def raw_chat(server, body: dict, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return HTTP.post(f"{server.url}{CHAT}", json=body, headers=headers)


@pytest.fixture
def server(stack):
    with BackgroundServer(stack.app(stack.settings(batch_window_s=0.3))) as running:
        yield running


def test_a_seed_that_overflows_is_a_400_and_the_server_answers_on(server):
    for seed in (18446744073709551616, 2**63, -1):
        with pytest.raises(openai.BadRequestError) as err:
            ask(server, temperature=0.7, seed=seed)
        assert err.value.body["param"] == "seed"
    assert ask(server, temperature=0.7, seed=2**63 - 1).choices[0].message is not None
    assert ask(server).choices[0].finish_reason in ("stop", "length")


@pytest.mark.parametrize(
    ("field", "value"),
    [("temperature", 1e-45), ("temperature", 0.001), ("top_p", 0.0), ("max_tokens", 10**9)],
)
def test_out_of_range_numbers_are_400s(server, field, value):
    with pytest.raises(openai.BadRequestError) as err:
        ask(server, **{field: value})
    assert err.value.body["param"] == field


def test_lone_surrogates_and_control_characters_are_400s_with_openai_bodies(server):
    # The JSON escape reaches the server as a lone surrogate; the client cannot encode one.
    raw = b'{"model": "%s", "messages": [{"role": "user", "content": "a\\ud800b"}]}' % (
        MODEL.encode()
    )
    reply = HTTP.post(
        f"{server.url}{CHAT}", content=raw, headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400 and reply.headers["content-type"] == "application/json"
    assert "surrogate" in reply.json()["error"]["message"]
    for text in ("bell\x07", "evil \u202e reversed", "nul\x00"):
        body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
        reply = raw_chat(server, body)
        assert reply.status_code == 400, text
        assert reply.json()["error"]["param"].startswith("messages.0.content")
    assert ask(server).choices  # still answering


def test_a_row_that_cannot_be_sampled_fails_alone(stack, monkeypatch):
    """The NaN batch: with validation out of the way, temperature 1e-45 makes the sampler's
    probabilities NaN. Only that request gets a 500 (naming its request id); five greedy
    requests of another caller, sent at the same moment, are answered."""
    monkeypatch.setattr(request_bodies, "MIN_TEMPERATURE", 0.0)
    settings = stack.settings(batch_window_s=0.5, max_batch=8)
    with BackgroundServer(stack.app(settings)) as server:
        with ThreadPoolExecutor(6) as pool:
            bad = pool.submit(
                raw_chat,
                server,
                {"model": MODEL, "messages": QUESTION, "temperature": 1e-45, "max_tokens": 4},
            )
            good = [pool.submit(raw_chat, server, {"model": MODEL, "messages": QUESTION,
                                                   "max_tokens": 4, "user": str(i)})
                    for i in range(5)]  # fmt: skip
            replies = [f.result() for f in good]
        assert [r.status_code for r in replies] == [200] * 5
        failed = bad.result()
        assert failed.status_code == 500 and failed.json()["error"]["code"] == "generation_failed"
        request_id = failed.headers["X-Request-Id"]
        assert request_id in failed.json()["error"]["message"]
        assert ask(server).choices


def test_a_failed_forward_pass_retries_the_rows_alone(stack, monkeypatch):
    """A decoder fault tied to one request (here: the one asking for 3 tokens) fails the whole
    batched forward pass; every row is retried alone, and only that request gets a 500."""
    from health_training.serving.backends import inprocess as engine_module

    real = engine_module.decode_rows

    def faulty(model, rows, **kwargs):
        if any(row.max_new_tokens == 3 for row in rows):
            raise RuntimeError("a fault in the forward pass")
        return real(model, rows, **kwargs)

    monkeypatch.setattr(engine_module, "decode_rows", faulty)
    with BackgroundServer(stack.app(stack.settings(batch_window_s=0.5))) as server:
        with ThreadPoolExecutor(4) as pool:
            bad = pool.submit(raw_chat, server, {"model": MODEL, "messages": QUESTION,
                                                 "max_tokens": 3})  # fmt: skip
            good = [pool.submit(raw_chat, server, {"model": MODEL, "messages": QUESTION,
                                                   "max_tokens": 4, "user": str(i)})
                    for i in range(3)]  # fmt: skip
            assert [f.result().status_code for f in good] == [200] * 3
        assert bad.result().status_code == 500
        assert bad.result().headers["X-Request-Id"] in bad.result().json()["error"]["message"]
        assert ask(server).choices


class _WorkerKiller(BaseException):
    """Not an Exception: nothing in the worker catches it, so its thread dies."""


def test_a_dead_worker_is_reported_and_restarted(stack):
    app = stack.app(stack.settings(supervise_s=3600))  # the test plays the supervisor's tick
    engine = app.state.services.backend
    with BackgroundServer(app) as server:
        assert HTTP.get(f"{server.url}/health").status_code == 200
        real_run = engine.work._run_batch

        def dies(batch):
            engine.work._run_batch = real_run
            raise _WorkerKiller()

        engine.work._run_batch = dies
        pending = threading.Thread(target=lambda: results.append(raw_chat(server, {
            "model": MODEL, "messages": QUESTION, "max_tokens": 4})))  # fmt: skip
        results: list[httpx.Response] = []
        pending.start()
        wait_until(lambda: not engine.work._thread.is_alive(), "the worker to die")
        health = HTTP.get(f"{server.url}/health")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert "dead" in health.json()["reason"]
        assert engine.work.supervise()  # what the supervisor thread does every supervise_s
        pending.join()
        assert results[0].status_code == 500  # the request the dead worker held
        assert HTTP.get(f"{server.url}/health").status_code == 200
        assert ask(server).choices  # the next request is answered
        assert "health_serving_worker_restarts_total 1.0" in HTTP.get(f"{server.url}/metrics").text


def _hold_worker(engine) -> threading.Event:
    """Keep the worker busy with a command until the returned event is set."""
    release, holding = threading.Event(), threading.Event()

    def hold():
        holding.set()
        release.wait()

    threading.Thread(target=engine.work.command, args=(hold,), daemon=True).start()
    holding.wait()
    return release


def test_a_full_queue_is_a_429_at_once_and_admitted_requests_finish(stack):
    app = stack.app(stack.settings(max_queue=2, max_batch=1))
    engine = app.state.services.backend
    with BackgroundServer(app) as server, ThreadPoolExecutor(2) as pool:
        release = _hold_worker(engine)
        admitted = [pool.submit(ask, server, user=str(i)) for i in range(2)]
        wait_until(lambda: len(engine.work._queue) == 2, "two requests to wait")
        reply = raw_chat(server, {"model": MODEL, "messages": QUESTION, "max_tokens": 4})
        assert reply.status_code == 429 and reply.json()["error"]["code"] == "queue_full"
        assert reply.headers["Retry-After"] == "1"  # retry_after_s: no batch to estimate from
        assert reply.headers["retry-after-ms"] == "500"
        stream = raw_chat(server, {"model": MODEL, "messages": QUESTION, "stream": True})
        assert stream.status_code == 429  # a stream is refused before its 200, too
        release.set()
        assert all(f.result().choices for f in admitted)
        metrics = HTTP.get(f"{server.url}/metrics").text
        assert 'health_serving_rejected_total{reason="queue_full"} 2.0' in metrics
        assert "health_serving_queue_bound 2.0" in metrics
        assert "health_serving_batch_bound 1.0" in metrics


def test_latency_first_admits_no_more_than_a_batch_and_refuses_the_rest_at_once(stack, monkeypatch):
    """The latency-first profile (max_queue 0): requests join a batch that has not started, up
    to max_batch; while it decodes, the next one gets a 429 with Retry-After through the
    openai client, and a stream is refused before its 200; once the batch ends, requests are
    admitted again. No decoded batch holds more than max_batch rows."""
    from health_training.serving.backends import inprocess as engine_module

    real, sizes = engine_module.decode_rows, []
    decoding, release = threading.Event(), threading.Event()

    def held(model, rows, **kwargs):
        sizes.append(len(rows))
        decoding.set()
        release.wait()
        return real(model, rows, **kwargs)

    monkeypatch.setattr(engine_module, "decode_rows", held)
    # A long window: each batch starts when its two requests are there, whatever the load.
    app = stack.app(stack.settings(max_queue=0, max_batch=2, batch_window_s=DEADLINE))
    engine = app.state.services.backend
    with BackgroundServer(app) as server, ThreadPoolExecutor(2) as pool:
        admitted = [pool.submit(ask, server, user=str(i)) for i in range(2)]
        decoding.wait()
        with pytest.raises(openai.RateLimitError) as err:
            ask(server)
        assert err.value.code == "queue_full"
        assert int(err.value.response.headers["Retry-After"]) >= 1
        assert int(err.value.response.headers["retry-after-ms"]) >= 500
        stream = raw_chat(server, {"model": MODEL, "messages": QUESTION, "stream": True})
        assert stream.status_code == 429
        release.set()
        assert all(f.result().choices for f in admitted)
        wait_until(lambda: not engine.work.busy, "the batch to end")  # answers go out first
        # Another max_tokens: the same request again would be answered from the response cache.
        again = [pool.submit(ask, server, user=str(i), max_tokens=3) for i in range(2)]
        assert all(f.result().choices for f in again)
        assert sizes == [2, 2]


def test_a_request_past_its_deadline_is_a_504_and_frees_its_place(stack):
    app = stack.app(stack.settings(request_timeout_s=0.5))
    engine = app.state.services.backend
    with BackgroundServer(app) as server:
        release = _hold_worker(engine)
        reply = raw_chat(server, {"model": MODEL, "messages": QUESTION, "max_tokens": 4})
        assert reply.status_code == 504 and reply.json()["error"]["code"] == "timeout"
        release.set()
        assert ask(server).choices


def test_a_stalled_worker_makes_health_a_503(stack):
    app = stack.app(stack.settings(worker_stall_s=0.001))
    engine = app.state.services.backend
    with BackgroundServer(app) as server, ThreadPoolExecutor(1) as pool:
        release = _hold_worker(engine)  # stuck, as in native code: no token, no loop
        waiting = pool.submit(ask, server)
        wait_until(lambda: len(engine.work._queue) == 1, "a request to wait")
        health = HTTP.get(f"{server.url}/health")
        assert health.status_code == 503 and "stalled" in health.json()["reason"]
        release.set()
        assert waiting.result().choices
        assert HTTP.get(f"{server.url}/health").status_code == 200


def test_shutdown_drains_with_a_deadline(stack):
    """SIGTERM with a request the worker will never get to: the server still stops (the
    request is cancelled after the drain time and the queue fails what it held)."""
    app = stack.app(stack.settings(shutdown_drain_s=1))
    engine = app.state.services.backend
    server = BackgroundServer(app).__enter__()
    release = _hold_worker(engine)
    results: list = []

    def request() -> None:
        try:
            results.append(raw_chat(server, {"model": MODEL, "messages": QUESTION}).status_code)
        except httpx.TransportError as exc:  # the connection closed by the shutdown
            results.append(type(exc).__name__)

    pending = threading.Thread(target=request)
    pending.start()
    wait_until(lambda: len(engine.work._queue) == 1, "a request to wait")
    server.__exit__(None, None, None)  # what SIGTERM does to `serve`
    assert not server._thread.is_alive()
    pending.join()
    release.set()
    assert results and results[0] != 200


def test_per_key_quotas_for_requests_and_feedback(stack):
    settings = stack.keyed(request_burst=2, requests_per_minute=0.01, feedback_burst=1,
                           feedback_per_minute=0.01)  # fmt: skip
    with BackgroundServer(stack.app(settings)) as server:
        answers = [ask(server, API_KEY) for _ in range(2)]
        with pytest.raises(openai.RateLimitError) as err:
            ask(server, API_KEY)
        assert err.value.body["code"] == "rate_limit_exceeded"
        assert int(err.value.response.headers["Retry-After"]) >= 1
        headers = {"Authorization": f"Bearer {API_KEY}"}
        url = f"{server.url}/v1/feedback"
        first = HTTP.post(url, json={"response_id": answers[0].id, "rating": 4}, headers=headers)
        assert first.status_code == 200, first.text
        second = HTTP.post(url, json={"response_id": answers[1].id, "rating": 4}, headers=headers)
        assert second.status_code == 429 and "feedback quota" in second.json()["error"]["message"]
        metrics = HTTP.get(f"{server.url}/metrics", headers=headers).text
        assert 'health_serving_quota_burst{kind="requests"} 2.0' in metrics
        assert 'health_serving_rejected_total{reason="quota_requests"} 1.0' in metrics
        assert 'health_serving_rejected_total{reason="quota_feedback"} 1.0' in metrics


class _LeakyRegistry:
    """A registry whose errors carry the tracking URI with its password, as MLflow's do."""

    def version_by_alias(self, alias):
        raise ConnectionError("http://mlflow:hunter2@tracking.internal:5000 is unreachable")


class _LeakyMlflow:
    def registry(self):
        return _LeakyRegistry()


def test_a_key_over_its_token_quota_waits(stack):
    with BackgroundServer(stack.app(stack.keyed(tokens_per_minute=1))) as server:
        ask(server, API_KEY)  # admitted, then charged its prompt and completion tokens
        with pytest.raises(openai.RateLimitError) as err:
            ask(server, API_KEY)
        assert "tokens quota" in err.value.body["message"]


def test_health_without_a_key_says_status_only(stack):
    from health_training.data.phi import Pseudonymizer
    from health_training.resources import LocalStorage
    from health_training.serving.http.app import create_app

    app = create_app(
        stack.keyed(),
        mlflow=_LeakyMlflow(),
        feedback_store=stack.feedback.store(),
        pseudonymize=Pseudonymizer(b"k" * 32),
        storage=LocalStorage(root=str(stack.root / "lake")),
    )
    with BackgroundServer(app) as server:
        open_reply = HTTP.get(f"{server.url}/health")
        assert open_reply.status_code == 200 and open_reply.json() == {"status": "degraded"}
        detailed = HTTP.get(f"{server.url}/health", headers={"Authorization": f"Bearer {API_KEY}"})
        doc = detailed.json()
        assert doc["registry"] == {"reachable": False, "error": "ConnectionError"}
        assert doc["device"] == "cpu" and doc["version"] == "base"
        for text in (open_reply.text, detailed.text):
            assert "hunter2" not in text and str(stack.base) not in text and "/" not in text


def test_metrics_and_docs_are_closed_by_default(stack):
    with BackgroundServer(stack.app(stack.keyed())) as server:
        assert HTTP.get(f"{server.url}/metrics").status_code == 401
        headers = {"Authorization": f"Bearer {API_KEY}"}
        assert HTTP.get(f"{server.url}/metrics", headers=headers).status_code == 200
        for path in ("/docs", "/openapi.json", "/redoc"):
            assert HTTP.get(f"{server.url}{path}").status_code == 404
    with BackgroundServer(stack.app(stack.keyed(metrics_access="off", docs=True))) as server:
        assert HTTP.get(f"{server.url}/metrics", headers=headers).status_code == 404
        assert HTTP.get(f"{server.url}/openapi.json").status_code == 200


def test_the_keyless_loopback_server_checks_the_host_header(server):
    # DNS rebinding: a page on evil.example whose name now points at 127.0.0.1.
    reply = HTTP.get(f"{server.url}/v1/models", headers={"Host": "evil.example"})
    assert reply.status_code == 400
    assert HTTP.get(f"{server.url}/v1/models", headers={"Host": "localhost"}).status_code == 200


def test_spans_follow_a_request_through_the_worker(stack):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from health_training.serving.http.tracing import make_tracer

    assert make_tracer("") is None  # no endpoint, no provider: tracing is off
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with BackgroundServer(stack.app(tracer_provider=provider)) as server:
        answer = ask(server)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"POST /v1/chat/completions", "queue_wait", "batch", "decode", "guard"} <= set(spans)
    request = spans["POST /v1/chat/completions"]
    assert request.attributes["request.id"] == answer.id
    assert spans["queue_wait"].attributes["request.id"] == answer.id
    for name in ("queue_wait", "guard"):
        assert spans[name].parent.span_id == request.context.span_id
    assert spans["batch"].links[0].context.span_id == request.context.span_id
    assert spans["decode"].parent.span_id == spans["batch"].context.span_id


def test_the_training_run_an_admin_starts_is_linked_to_its_trace(stack):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from health_training_tests.serving.conftest import ADMIN_KEY

    class Jobs:  # stands in for Dagster's GraphQL API (test_admin.py uses the real one)
        def launch_training(self, requested_by, trace_id=None):
            self.trace_id = trace_id
            return "5f0c1e3a-0000-4000-8000-000000000001"

    exporter, provider, jobs = InMemorySpanExporter(), TracerProvider(), Jobs()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = stack.app(stack.keyed(), jobs=jobs, tracer_provider=provider)
    with BackgroundServer(app) as server:
        reply = HTTP.post(f"{server.url}/admin/train", json={},
                          headers={"Authorization": f"Bearer {ADMIN_KEY}"})  # fmt: skip
        assert reply.status_code == 200, reply.text
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "POST /admin/train"]
    assert span.attributes["dagster.run_id"] == reply.json()["run_id"]
    assert jobs.trace_id == f"{span.context.trace_id:032x}"


def test_admin_actions_write_one_audit_line(stack, caplog):
    import logging

    from health_training_tests.serving.conftest import ADMIN_KEY

    caplog.set_level(logging.INFO, logger="health_training.audit")

    class Jobs:
        def launch_training(self, requested_by, trace_id=None):
            return "5f0c1e3a-0000-4000-8000-000000000002"

    with BackgroundServer(stack.app(stack.keyed(), jobs=Jobs())) as server:
        reply = HTTP.post(f"{server.url}/admin/train", json={"requested_by": "Dr A"},
                          headers={"Authorization": f"Bearer {ADMIN_KEY}"})  # fmt: skip
    lines = [json.loads(r.message) for r in caplog.records if r.name == "health_training.audit"]
    assert len(lines) == 1
    (line,) = lines
    assert line["action"] == "train" and line["actor"].startswith("k_")
    assert line["request_id"] == reply.headers["X-Request-Id"]
    assert line["change"]["run_id"] == reply.json()["run_id"]
    assert reply.json()["requested_by"] == f"admin-key:{line['actor']} (note: Dr A)"
