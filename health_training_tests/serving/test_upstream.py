"""The upstream backend: a server that forwards generation to an OpenAI-compatible inference
server and keeps auth, guard, cache, feedback and metrics itself. The upstream here is a second
server of ours (in-process backend, same registry), standing in for vLLM: it has no runtime LoRA
API, so the forwarding server uses the version names as they are."""

from __future__ import annotations

import dataclasses

import openai
import pytest

from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import HTTP, MODEL, register

pytestmark = pytest.mark.slow
MESSAGES = [{"role": "user", "content": "Steps: 9,412 on Tuesday. How active was I?"}]


def test_upstream_forwards_generation_and_keeps_the_rest(stack, adapters):
    register(stack.mlflow, adapters[1], stack.base)  # v1, staging
    with BackgroundServer(stack.app()) as gpu:
        settings = stack.settings(
            backend="upstream",
            upstream_url=f"{gpu.url}/v1",
            work_dir=stack.root / "front",
        )
        with BackgroundServer(stack.app(settings)) as front:
            direct = openai.OpenAI(base_url=f"{gpu.url}/v1", api_key="k", max_retries=0)
            c = openai.OpenAI(base_url=f"{front.url}/v1", api_key="k", max_retries=0)
            expected = direct.chat.completions.create(
                model=f"{MODEL}/1", messages=MESSAGES, max_tokens=12
            )
            got = c.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=12)
            assert got.choices[0].message.content == expected.choices[0].message.content
            extra = got.model_extra["health_training"]
            assert extra["backend"] == "upstream" and extra["model_version"] == "1"
            assert got.usage.completion_tokens == expected.usage.completion_tokens
            chunks = list(
                c.chat.completions.create(
                    model=MODEL, messages=MESSAGES, max_tokens=12, stream=True, temperature=0.7
                )
            )
            assert chunks[-1].model_extra["health_training"]["model_version"] == "1"
            base = c.completions.create(model=f"{MODEL}@base", prompt="Glucose 142", max_tokens=5)
            assert base.model_extra["health_training"]["model_version"] == "base"
            reply = HTTP.post(f"{front.url}/v1/feedback", json={"response_id": got.id, "rating": 5})
            assert reply.status_code == 200
            assert stack.feedback.store().since(0)[0].model_version == "1"
            health = HTTP.get(f"{front.url}/health").json()
            assert health["backend"] == "upstream" and health["device"].startswith("upstream")
        # The upstream gone: a clear 502, not a hang or a 500.
        gone = dataclasses.replace(settings, upstream_url="http://127.0.0.1:9/v1")
        with BackgroundServer(stack.app(gone)) as front:
            c = openai.OpenAI(base_url=f"{front.url}/v1", api_key="k", max_retries=0)
            with pytest.raises(openai.APIStatusError) as err:
                c.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=4)
            assert err.value.status_code == 502 and "unreachable" in err.value.message
