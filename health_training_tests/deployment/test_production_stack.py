"""Production smoke test: the stack of docker/ run natively (production_stack.py), then the first-run
steps of docker/README.md on the tiny test model, each as the operator types it.

prepare-model → `serve` on the fresh stack (it must come up with nothing registered) → `generate`
into the lake bucket → `dg launch` one month → the dataset → `dg launch --job train_and_register`
(3 steps) → registration in MLflow → the server answers with the new version and takes a rating.

Asserts where everything landed: runs and event logs in Postgres, lake objects and compute logs
in the bucket, MLflow's artifacts in its bucket and loadable from another process, one key behind
the run's, the CLI's and the server's pseudonyms, the feedback rows in Postgres. It fails when
settings read outside a run are the `dg.EnvVar` names, when the artifact location is one MLflow's
server refuses, or when the server cannot start on an empty stack.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from health_training_tests.deployment import production_stack as ps
from health_training_tests.events import wait_until

pytestmark = pytest.mark.slow

MODEL = "health-query-olmo"
TRAIN_CONFIG = {
    "ops": {
        "lora_adapter": {"config": {"base_model": "tiny-random", "max_steps": 3}},
        "eval_report": {"config": {"max_examples": 6}},
    }
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ps.Stack]:
    if reason := ps.missing_reason():
        pytest.skip(reason)
    with ps.running_stack(tmp_path_factory.mktemp("production")) as stack:
        yield stack


class Server:
    """`health-training serve` in its own process group, called over HTTP with the client key."""

    def __init__(self, stack: ps.Stack):
        port = ps.postgres.free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = stack.root / "serve.log"
        cmd = [str(Path(sys.executable).parent / "health-training"), "serve", "--port", str(port)]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [*cmd, "--dagster", "127.0.0.1:3000"],
                env=stack.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def call(self, method: str, path: str, **kwargs):
        import httpx

        assert self.proc.poll() is None, f"serve exited:\n{self.log.read_text()[-4000:]}"
        headers = {"Authorization": f"Bearer {ps.API_KEY}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=300, **kwargs)

    def answers(self, path: str) -> bool:
        """Any HTTP answer: up (a 503 "nothing to serve yet" is an answer, a refused socket not)."""
        import httpx

        try:
            self.call("GET", path)
        except httpx.TransportError:
            return False
        return True


def test_first_run_on_the_production_stack(stack: ps.Stack):
    from health_training.data import layout
    from health_training.data.phi import Pseudonymizer
    from health_training.resources import key_fingerprint

    stack.run("health-training", "prepare-model", "tiny-random")
    server = Server(stack)  # a fresh stack: nothing registered, no data
    try:
        wait_until(lambda: server.answers("/health"), "serve's /health", timeout=300, poll=1)

        # Data: into the configured bucket (not one named after the variable).
        stack.run("health-training", "generate", "--months", "2025-01:2025-01", "--users", "4")
        raw = stack.s3_keys(ps.LAKE)
        assert raw and all(k.startswith("training/") for k in raw), raw[:10]
        stack.run("dg", "launch", "--assets", "raw_narratives,curated_narratives",
                  "--partition-range", "2025-01...2025-01")  # fmt: skip
        stack.run(
            "dg", "launch", "--assets", "feedback_examples,training_dataset,openai_chat_dataset"
        )
        stack.run("dg", "launch", "--job", "train_and_register",
                  "--config-json", json.dumps(TRAIN_CONFIG), timeout=900)  # fmt: skip
        listed = stack.run("health-training", "registry", "list")
        assert listed.stdout.startswith("v1\tstaging"), listed.stdout
        assert "Warning" not in listed.stderr, listed.stderr  # no Dagster notices for operators

        # The server picks up the registered version, answers, and takes a rating.
        def staging_answer():
            reply = server.call("POST", "/v1/chat/completions", json={
                "model": f"{MODEL}@staging", "max_tokens": 8,
                "messages": [{"role": "user", "content": "How did I sleep last week?"}],
            })  # fmt: skip
            return reply.json() if reply.status_code == 200 else None

        answer = wait_until(staging_answer, "an answer from v1", timeout=300, poll=2)
        assert answer["health_training"]["model_version"] == "1", answer
        rated = server.call("POST", "/v1/feedback", json={
            "response_id": answer["id"], "rating": 4, "user": "smoke-user",
        })  # fmt: skip
        assert rated.status_code < 300, rated.text
    finally:
        ps.stop_group(server.proc)
    stack.run("health-training", "feedback", "add", "--query", "q", "--response", "r",
              "--rating", "5", "--model-version", "1", "--user", "user_0001")  # fmt: skip

    # Dagster: runs and their event logs in Postgres; compute logs and the lake in the bucket.
    runs = dict(stack.sql("dagster", "select status, count(*) from runs group by status"))
    assert runs == {"SUCCESS": 3}, runs
    assert stack.sql("dagster", "select count(*) from event_logs")[0][0] > 50
    assert stack.s3_keys(ps.LAKE, "dagster/compute-logs/")
    lake = stack.s3_keys(ps.LAKE)
    assert any(k.startswith(layout.CURATED_PREFIX) for k in lake), lake[:20]
    assert any(k.startswith(layout.DATASET_PREFIX) for k in lake), lake[:20]

    # MLflow: the backend in Postgres, the artifacts in their bucket through the server, and the
    # registered model loads in another process by alias.
    assert stack.sql("mlflow", "select count(*) from model_versions")[0][0] == 1
    assert any("/artifacts/" in k for k in stack.s3_keys(ps.MLFLOW_BUCKET, "artifacts/"))
    load = "import mlflow; m = mlflow.pyfunc.load_model('models:/%s@staging'); print(m.metadata.run_id)"
    loaded = subprocess.run([sys.executable, "-c", load % MODEL], env=stack.env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-3000:]

    # One key behind every pseudonym: the run's (fingerprint), the server's and the CLI's rows.
    pseudonymize = Pseudonymizer(ps.PSEUDONYM_KEY.encode())
    events = stack.sql(
        "dagster",
        "select event from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'"
        " and asset_key like '%training_dataset%'",
    )
    fingerprint = key_fingerprint(ps.PSEUDONYM_KEY.encode())
    assert events and all(fingerprint in event for (event,) in events)
    rows = stack.sql("feedback", "select user_pseudonym, tenant, rating from feedback order by id")
    (server_row, cli_row) = rows
    assert server_row[0] == pseudonymize(f"tenant:{server_row[1]}/user:smoke-user")
    assert cli_row[0] == pseudonymize("user_0001") and cli_row[2] == 5
