"""Following the registry without a restart: the base until a version exists, staging when one is
registered, production when one is promoted, and a promotion in the middle of a stream of
concurrent requests that fails none of them. Waits are on conditions (health, counts), never on
time."""

from __future__ import annotations

import threading
from collections import defaultdict

import openai
import pytest

from health_training.ml.registry.version_gate import promote_recorded
from health_training_tests.events import wait_until
from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import HTTP, MODEL, register, serving_version

pytestmark = pytest.mark.slow
MESSAGES = [{"role": "user", "content": "How did I sleep last night? I slept 6 h 40 min."}]


def answer(c: openai.OpenAI, model: str = MODEL, stream: bool = False) -> tuple[str, str]:
    """(model version, text) of one greedy answer."""
    if not stream:
        r = c.chat.completions.create(model=model, messages=MESSAGES, max_tokens=16)
        return r.model_extra["health_training"]["model_version"], r.choices[0].message.content
    chunks = list(
        c.chat.completions.create(model=model, messages=MESSAGES, max_tokens=16, stream=True)
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    return chunks[-1].model_extra["health_training"]["model_version"], text


def test_base_until_a_version_exists_then_staging(stack, adapters):
    with BackgroundServer(stack.app()) as server:
        c = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
        version, base_text = answer(c)
        assert version == "base"
        register(stack.mlflow, adapters[1], stack.base)  # v1, alias staging
        wait_until(lambda: serving_version(server.url) == "1", "the server to follow staging")
        version, staged = answer(c)
        assert version == "1" and staged != base_text  # the adapter is really applied
        assert answer(c, f"{MODEL}@staging") == ("1", staged)
        assert answer(c, f"{MODEL}@base") == ("base", base_text)  # one base copy, both served
        with pytest.raises(openai.NotFoundError):
            answer(c, f"{MODEL}@production")


def test_promote_during_concurrent_requests_fails_none(two_versions):
    stack = two_versions
    # No cache: every request really runs on the model while the alias moves.
    with BackgroundServer(stack.app(stack.settings(cache_entries=0))) as server:
        url = f"{server.url}/v1"
        c = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        expected = {"1": answer(c, f"{MODEL}@production")[1], "2": answer(c, f"{MODEL}@staging")[1]}
        assert expected["1"] != expected["2"]
        seen: dict[int, list[tuple[str, str]]] = defaultdict(list)
        errors: list[BaseException] = []
        stop = threading.Event()

        def user(i: int) -> None:
            mine = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
            n = 0
            while not stop.is_set():
                try:
                    seen[i].append(answer(mine, stream=n % 2 == 1))
                except BaseException as exc:  # any failure is the test's failure
                    errors.append(exc)
                    return
                n += 1

        threads = [threading.Thread(target=user, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()

        def count(version: str) -> int:
            return sum(v == version for answers in list(seen.values()) for v, _ in answers)

        try:
            wait_until(lambda: count("1") >= 12 or errors, "answers from v1")
            promote_recorded(
                stack.mlflow.registry(), "2", approved_by="test", reason="swap under load"
            )
            wait_until(lambda: count("2") >= 12 or errors, "answers from v2 after promote")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=120)
        assert not errors, errors
        for answers in seen.values():
            versions = [v for v, _ in answers]
            # Sequential per user: once the new version answered, the old one never does again.
            assert versions == sorted(versions), versions
            for version, text in answers:
                assert text == expected[version]  # no answer mixed two versions
        health = HTTP.get(f"{server.url}/health").json()
        assert health["version"] == "2" and health["alias"] == "production"
        wait_until(
            lambda: HTTP.get(f"{server.url}/health").json()["loaded"] == ["2"],
            "v1 to be detached once no request holds it",
        )


def test_in_flight_request_keeps_its_version_until_it_ends(two_versions):
    stack = two_versions
    app = stack.app()
    with BackgroundServer(app) as server:
        pool = app.state.services.pool
        c = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0)
        before = answer(c)
        assert before[0] == "1"
        with pool.lease(MODEL) as held:  # a request that started before the promotion
            assert held.served.version == "1"
            promote_recorded(stack.mlflow.registry(), "2", approved_by="test", reason="in flight")
            wait_until(lambda: serving_version(server.url) == "2", "the swap")
            assert answer(c)[0] == "2"  # new requests get the new version...
            health = HTTP.get(f"{server.url}/health").json()
            assert health["loaded"] == ["1", "2"]  # ...while v1 stays for the one in flight
            assert answer(c, f"{MODEL}/1") == before  # and it still answers as v1
        assert HTTP.get(f"{server.url}/health").json()["loaded"] == ["2"]
        with pytest.raises(openai.NotFoundError):
            answer(c, f"{MODEL}/1")
