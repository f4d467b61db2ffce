"""GpuPoolRunLauncher: its config helpers, and the launcher in a real Dagster instance.

CPU only: the pool is two fake devices, "0" and "1"; a "GPU run" proves where it ran by writing
its CUDA_VISIBLE_DEVICES into a file named after its run id (see dagster_env.py). Runs that must
overlap hold their lease until the test releases them, so no assertion depends on timing.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import dagster as dg
import pytest

from health_training.launcher import (
    DEVICES_TAG,
    GPU_TAG,
    PID_TAG,
    gpus_requested,
    resolve_devices,
)
from health_training_tests.launcher.dagster_env import DagsterEnv, dagster_env

POOL = ("0", "1")


def test_launcher_config_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    assert gpus_requested({}) == 0
    assert gpus_requested({GPU_TAG: "0"}) == 0
    assert gpus_requested({GPU_TAG: "2"}) == 2
    with pytest.raises(ValueError, match="GPU count"):
        gpus_requested({GPU_TAG: "yes"})
    monkeypatch.delenv("HEALTH_TRAINING_GPU_DEVICES", raising=False)
    assert resolve_devices(None) == ("0",)
    monkeypatch.setenv("HEALTH_TRAINING_GPU_DEVICES", "2,3")
    assert resolve_devices(None) == ("2", "3")
    assert resolve_devices({"env": "HEALTH_TRAINING_GPU_DEVICES"}) == ("2", "3")
    assert resolve_devices([0, 1]) == POOL
    with pytest.raises(ValueError, match="NOT_SET_ANYWHERE is not set"):
        resolve_devices({"env": "NOT_SET_ANYWHERE"})


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterEnv]:
    with dagster_env(tmp_path_factory.mktemp("gpu_launcher"), devices=POOL) as env:
        yield env


@pytest.mark.slow
def test_two_gpu_runs_share_the_pool_and_a_third_is_refused(env: DagsterEnv) -> None:
    assert env.launcher.devices == POOL
    assert env.launcher.lease_dir == env.home / "gpu_leases"
    first, second, third = (env.create_run({GPU_TAG: "1"}, hold=True) for _ in range(3))
    env.launch(first)
    env.launch(second)
    # Both run on their leases at once: each has started, and neither can end before release.
    started = [env.started(run_id) for run_id in (first, second)]
    assert sorted(s["device"] for s in started) == ["0", "1"]

    with pytest.raises(dg.DagsterError, match="no free GPU") as refused:
        env.launch(third)
    assert refused.typename == "DagsterLaunchFailedError"
    assert env.wait_for(third, {"FAILURE"}).tags.get(DEVICES_TAG) is None
    assert any("no free GPU" in e.message for e in env.instance.all_logs(third))

    for run_id in (first, second):
        env.release(run_id)
    runs = [env.wait_for(run_id, {"SUCCESS"}) for run_id in (first, second)]
    assert [r.tags[DEVICES_TAG] for r in runs] == [s["device"] for s in started]
    assert [env.report(r.run_id) for r in runs] == started
    leased = [e.message for e in env.instance.all_logs(first) if "Leased GPU" in e.message]
    assert leased and runs[0].tags[PID_TAG] in leased[0]
    for run_id in (first, second):
        env.wait_holder_gone(run_id)


@pytest.mark.slow
def test_untagged_run_launches_through_the_code_server(env: DagsterEnv) -> None:
    run_id = env.create_run({})
    env.launch(run_id)
    run = env.wait_for(run_id, {"SUCCESS"})
    assert env.report(run_id)["device"] is None
    assert PID_TAG not in run.tags and DEVICES_TAG not in run.tags
    assert env.launcher.check_run_worker_health(run).status.value == "RUNNING"


@pytest.mark.slow
def test_terminate_cancels_the_run_and_frees_its_lease(env: DagsterEnv) -> None:
    run_id = env.create_run({GPU_TAG: "1"}, hold=True)
    env.launch(run_id)
    # Once the op runs, the worker handles SIGTERM as a cancel (during start-up it might not).
    device = env.started(run_id)["device"]
    run = env.get_run(run_id)
    assert run.tags[DEVICES_TAG] == device and not env.device_is_free(device)
    assert env.launcher.check_run_worker_health(run).status.value == "RUNNING"

    assert env.launcher.terminate(run_id)
    env.wait_for(run_id, {"CANCELED"})
    env.wait_holder_gone(run_id)
    assert env.device_is_free(device)
    assert not env.launcher.terminate(run_id)  # already finished


@pytest.mark.slow
def test_run_monitoring_fails_a_run_whose_holder_was_killed(env: DagsterEnv) -> None:
    run_id = env.create_run({GPU_TAG: "1"}, hold=True)
    env.launch(run_id)
    device = env.started(run_id)["device"]
    run = env.get_run(run_id)
    os.kill(int(run.tags[PID_TAG]), signal.SIGKILL)
    env.wait_holder_gone(run_id)
    assert env.device_is_free(device)
    assert env.launcher.check_run_worker_health(run).status.value == "FAILED"

    env.monitor_once()
    env.wait_for(run_id, {"FAILURE"})


@pytest.mark.slow
def test_tag_concurrency_limit_keeps_the_third_gpu_run_queued(env: DagsterEnv) -> None:
    earlier = env.instance.get_runs(dg.RunsFilter(tags={GPU_TAG: "1"}))
    assert all(r.is_finished for r in earlier)  # the limit counts only this test's runs
    run_ids = [env.create_run({GPU_TAG: "1"}) for _ in range(3)]
    for run_id in run_ids:
        env.submit(run_id)
    env.dequeue_once()
    statuses = [env.get_run(r).status.value for r in run_ids]
    assert statuses.count("QUEUED") == 1, statuses
    launched = [r for r, s in zip(run_ids, statuses, strict=True) if s != "QUEUED"]
    queued = run_ids[statuses.index("QUEUED")]
    for run_id in launched:
        env.wait_for(run_id, {"SUCCESS"})
        # A run reports success a moment before its worker exits and frees the device; the
        # launcher's wait_seconds bridges that, but on a loaded machine the exit can take
        # longer. Wait for the freed lease, which is what the next launch needs, not for a clock.
        env.wait_holder_gone(run_id)
    env.dequeue_once()
    env.wait_for(queued, {"SUCCESS"})
    assert env.report(queued)["device"] in POOL
    env.wait_holder_gone(queued)
