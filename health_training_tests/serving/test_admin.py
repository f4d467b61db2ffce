"""Access and the admin API: keys required and compared by hash, the admin key alone opening
/admin, promotion and rollback recorded on the registry and followed at once, the emissions
views, and training / evaluation runs started through a real Dagster webserver's GraphQL API
(a QueuedRunCoordinator with no daemon keeps them queued, so nothing trains here)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest

from health_training.serving.dagster_runs import DagsterJobs
from health_training.serving.http.keys import key_id_of
from health_training_tests.events import wait_until
from health_training_tests.serving.background_server import BackgroundServer
from health_training_tests.serving.conftest import ADMIN_KEY, API_KEY, HTTP, MODEL, SERVER_SECRET

pytestmark = pytest.mark.slow  # each test starts a server (a model load, an MLflow DB)

ADMIN_CALLS = [
    ("post", "/admin/train", {}),
    ("post", "/admin/evaluate", {"version": "1"}),
    ("get", "/admin/jobs", None),
    ("get", "/admin/jobs/some-run", None),
    ("post", "/admin/jobs/some-run/cancel", None),
    ("post", "/admin/promote", {"version": "1", "reason": "r"}),
    ("post", "/admin/rollback", {"reason": "r"}),
]


def keyed(stack, **overrides):
    return stack.keyed(**overrides)


def call(url: str, method: str, path: str, body, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return HTTP.request(method, f"{url}{path}", json=body, headers=headers)


def test_keys_are_required_and_admin_needs_the_admin_key(stack):
    with BackgroundServer(stack.app(keyed(stack))) as server:
        for key, status in [(None, 401), ("wrong-key", 401), (API_KEY, 403)]:
            for method, path, body in ADMIN_CALLS:
                reply = call(server.url, method, path, body, key)
                assert reply.status_code == status, (path, key, reply.text)
                assert reply.json()["error"]["type"] in (
                    "invalid_request_error",
                    "permission_error",
                )
        wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong-key", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        for key in (None, "wrong-key"):
            for path in ("/v1/models", "/emissions/total-footprint", "/training-data/stats"):
                assert call(server.url, "get", path, None, key).status_code == 401
            chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
            assert call(server.url, "post", "/v1/chat/completions", chat, key).status_code == 401
        for key in (API_KEY, ADMIN_KEY):
            c = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
            assert MODEL in {m.id for m in c.models.list()}
        assert HTTP.get(f"{server.url}/health").json() == {"status": "ok"}  # no key: status only
        health = call(server.url, "get", "/health", None, API_KEY).json()
        assert health["access"] == "api keys"
        assert API_KEY not in str(health) and ADMIN_KEY not in str(health)
    open_admin = stack.settings()  # no admin key configured: the admin API is closed
    with BackgroundServer(stack.app(open_admin)) as server:
        reply = call(server.url, "post", "/admin/train", {}, ADMIN_KEY)
        assert reply.status_code == 403 and reply.json()["error"]["code"] == "admin_disabled"


def test_promote_and_rollback_are_recorded_and_followed(two_versions):
    stack = two_versions
    with BackgroundServer(stack.app(keyed(stack))) as server:
        url = server.url
        reply = call(url, "post", "/admin/promote", {"version": "2", "reason": "better"}, ADMIN_KEY)
        assert reply.status_code == 200, reply.text
        assert reply.json()["serving"] == {"version": "2", "alias": "production"}  # at once
        tags = stack.mlflow.registry().version("2").tags
        assert tags["promotion.approved_by"] == f"admin-key:{key_id_of(SERVER_SECRET, ADMIN_KEY)}"
        assert tags["promotion.reason"] == "better" and tags["promotion.previous_production"] == "1"

        body = {"reason": "clinicians found a regression", "requested_by": "dr-ops"}
        reply = call(url, "post", "/admin/rollback", body, ADMIN_KEY)
        assert reply.status_code == 200 and reply.json()["serving"]["version"] == "1"
        by = stack.mlflow.registry().version("2").tags["rollback.by"]
        assert by.startswith("admin-key:k_") and by.endswith("(note: dr-ops)")  # the key first
        reply = call(url, "post", "/admin/rollback", {"reason": "again"}, ADMIN_KEY)
        assert reply.status_code == 409  # v1 replaced nothing: nothing to roll back to
        reply = call(url, "post", "/admin/promote", {"version": "99", "reason": "x"}, ADMIN_KEY)
        assert reply.status_code == 404 and reply.json()["error"]["param"] == "version"
        reply = call(url, "post", "/admin/promote", {"version": "two", "reason": "x"}, ADMIN_KEY)
        assert reply.status_code == 400

        history = call(url, "get", "/emissions/training-history", None, API_KEY).json()["runs"]
        assert sorted(r["registered_version"] for r in history) == ["1", "2"]
        total = call(url, "get", "/emissions/total-footprint", None, API_KEY).json()
        assert total["runs"] == 2 and total["kg_co2eq"] == pytest.approx(0.003)
        assert total["by_reason"]["manual"]["runs"] == 2
        stats = call(url, "get", "/training-data/stats", None, API_KEY).json()
        assert stats["current_version"] is None and stats["served_model_dataset"] == "ds-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dagster_webserver(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "storage:\n  sqlite:\n    base_dir:\n      env: DAGSTER_HOME\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: QueuedRunCoordinator\ntelemetry:\n  enabled: false\n"
    )
    port = _free_port()
    env = os.environ | {"DAGSTER_HOME": str(home), "HEALTH_TRAINING_HOME": str(tmp_path / "ht")}
    exe = Path(sys.executable).parent / "dagster-webserver"
    cmd = [str(exe), "-m", "health_training.definitions", "-h", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )

    def answering() -> bool:
        assert process.poll() is None, "dagster-webserver exited"
        try:
            return HTTP.get(f"http://127.0.0.1:{port}/server_info", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answering, "dagster-webserver to answer", timeout=300, poll=0.5)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)


def test_training_and_evaluation_runs_start_through_dagster(two_versions, dagster_webserver):
    stack = two_versions
    jobs = DagsterJobs("127.0.0.1", dagster_webserver)
    with BackgroundServer(stack.app(keyed(stack), jobs=jobs)) as server:
        url = server.url
        reply = call(url, "post", "/admin/train", {"requested_by": "dr-ops"}, ADMIN_KEY)
        assert reply.status_code == 200, reply.text
        train_id = reply.json()["run_id"]
        reply = call(url, "post", "/admin/evaluate", {"version": "1"}, ADMIN_KEY)
        assert reply.status_code == 200, reply.text
        eval_id = reply.json()["run_id"]
        runs = {
            r["run_id"]: r for r in call(url, "get", "/admin/jobs", None, ADMIN_KEY).json()["runs"]
        }
        assert (
            runs[train_id]["job"] == "train_and_register" and runs[train_id]["reason"] == "manual"
        )
        assert runs[train_id]["requested_by"].startswith("admin-key:k_")
        assert runs[train_id]["requested_by"].endswith("(note: dr-ops)")
        assert runs[eval_id]["job"] == "evaluate_version"
        assert call(url, "get", f"/admin/jobs/{train_id}", None, ADMIN_KEY).json()["status"] == (
            "QUEUED"
        )
        assert (
            call(url, "post", f"/admin/jobs/{train_id}/cancel", None, ADMIN_KEY).status_code == 200
        )
        wait_until(
            lambda: (
                call(url, "get", f"/admin/jobs/{train_id}", None, ADMIN_KEY).json()["status"]
                == "CANCELED"
            ),
            "the queued run to be canceled",
        )
        reply = call(url, "post", "/admin/evaluate", {"version": "7"}, ADMIN_KEY)
        assert reply.status_code == 404
        # Only the project's own jobs: an unknown run id (or a run of another job) is a 404,
        # and so is anything that is not a run id.
        for run_id in ("00000000-0000-4000-8000-000000000000", "../graphql"):
            for method, path in (("get", f"/admin/jobs/{run_id}"),
                                 ("post", f"/admin/jobs/{run_id}/cancel")):  # fmt: skip
                reply = call(url, method, path, None, ADMIN_KEY)
                assert reply.status_code == 404, (path, reply.text)


def test_dagster_down_is_a_503(stack):
    jobs = DagsterJobs("127.0.0.1", _free_port())  # nothing listens there
    with BackgroundServer(stack.app(keyed(stack), jobs=jobs)) as server:
        reply = call(server.url, "post", "/admin/train", {}, ADMIN_KEY)
        assert reply.status_code == 503 and reply.json()["error"]["code"] == "dagster_unavailable"
        # Not a run id of ours: refused before Dagster is asked.
        for method, path in (("get", "/admin/jobs/some-run"), ("post", "/admin/jobs/x/cancel")):
            assert call(server.url, method, path, None, ADMIN_KEY).status_code == 404
