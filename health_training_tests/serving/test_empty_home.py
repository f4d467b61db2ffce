"""The server on an empty home (no prepared base model, nothing registered): it starts, /health
and every /v1 answer say what is missing and the command that fixes it (503), and the model is
picked up when it appears, without a restart."""

from __future__ import annotations

import openai
import pytest

from health_training_tests.events import wait_until
from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import HTTP, MODEL

pytestmark = pytest.mark.slow  # starts a server (an MLflow DB)

FIX = "run `health-training prepare-model tiny-random`"


def test_no_base_model_is_a_503_that_names_the_fix_until_it_appears(stack):
    from health_training.ml.lm.tiny import build_tiny_model

    models = stack.root / "models"
    settings = stack.settings(base_model="tiny-random", models_dir=models)
    with BackgroundServer(stack.app(settings)) as server:
        health = HTTP.get(f"{server.url}/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable" and FIX in health.json()["reason"]
        assert str(models) not in health.text  # the fix, not the path
        # Alive though not ready: a liveness probe on /livez does not restart a waiting server.
        assert HTTP.get(f"{server.url}/livez").status_code == 200
        c = openai.OpenAI(base_url=f"{server.url}/v1", api_key="none", max_retries=0)
        messages = [{"role": "user", "content": "How did I sleep?"}]
        with pytest.raises(openai.InternalServerError) as err:
            c.chat.completions.create(model=MODEL, messages=messages, max_tokens=4)
        assert err.value.status_code == 503 and FIX in err.value.body["message"]
        assert err.value.body["code"] == "no_base_model"

        # `prepare-model` builds the folder; made beside it and moved in, as a copy would land.
        build_tiny_model(stack.root / "staging-tiny")
        models.mkdir(parents=True, exist_ok=True)
        (stack.root / "staging-tiny").rename(models / "tiny-random")
        wait_until(lambda: HTTP.get(f"{server.url}/health").status_code == 200,
                   "the server to pick the base model up")  # fmt: skip
        answer = c.chat.completions.create(model=MODEL, messages=messages, max_tokens=4)
        assert answer.model_extra["health_training"]["model_version"] == "base"
