"""GPU pool launcher: the lease holder, the launcher in a real Dagster instance, platform tags.

CPU only: the pool is two fake devices, "0" and "1"; a "GPU run" proves where it ran by writing
its CUDA_VISIBLE_DEVICES into a file named after its run id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.errors import DagsterLaunchFailedError
from dagster._core.launcher import WorkerStatus
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import PythonFileTarget

from health_training import gpu_lease
from health_training.launcher import (
    DEVICES_TAG,
    GPU_TAG,
    PID_TAG,
    GpuPoolRunLauncher,
    ecs_run_tags,
    gpus_requested,
    k8s_run_tags,
    resolve_devices,
)

POOL = ("0", "1")


# --- the lease holder -------------------------------------------------------------------------


def _holder(lease_dir: Path, *command: str, wait: float = 0, run_id: str = "r") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "health_training.gpu_lease", "hold", "--lease-dir", str(lease_dir)]
        + ["--devices", ",".join(POOL), "--wait", str(wait), "--run-id", run_id, "--", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


SLEEP_AND_PRINT = ("sh", "-c", 'echo "device=$CUDA_VISIBLE_DEVICES"; exec sleep 3')


def _wait_until_leased(lease_dir: Path, run_id: str, timeout: float = 10) -> str:
    """The device whose lock file names `run_id`, once its holder has taken it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for device in POOL:
            path = gpu_lease.lease_path(lease_dir, device)
            if path.exists() and f'"{run_id}"' in path.read_text():
                return device
        time.sleep(0.05)
    raise AssertionError(f"no lease for {run_id} in {lease_dir}")


def _is_free(lease_dir: Path, device: str) -> bool:
    lease = gpu_lease.try_acquire(lease_dir, [device], run_id="probe")
    if lease is not None:
        gpu_lease.release(lease)
    return lease is not None


def test_three_holders_on_two_devices_third_fails_fast(tmp_path: Path) -> None:
    first, second = (_holder(tmp_path, *SLEEP_AND_PRINT, run_id=r) for r in ("a", "b"))
    _wait_until_leased(tmp_path, "a")
    _wait_until_leased(tmp_path, "b")
    started = time.monotonic()
    third = _holder(tmp_path, *SLEEP_AND_PRINT, run_id="c")
    _, err = third.communicate(timeout=10)
    assert third.returncode == gpu_lease.NO_FREE_GPU_EXIT_CODE
    assert "no free GPU" in err and "run a" in err and "run b" in err
    assert time.monotonic() - started < 2.5  # fails at once, not after the others finish
    outputs = [p.communicate(timeout=15)[0].strip() for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0]
    assert sorted(outputs) == ["device=0", "device=1"]


def test_waiting_holder_gets_the_device_of_the_one_that_finished(tmp_path: Path) -> None:
    holders = [_holder(tmp_path, *SLEEP_AND_PRINT, run_id=r) for r in ("a", "b")]
    for run_id in ("a", "b"):
        _wait_until_leased(tmp_path, run_id)
    waiter = _holder(tmp_path, "sh", "-c", 'echo "device=$CUDA_VISIBLE_DEVICES"', wait=20)
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert out.strip() in ("device=0", "device=1")
    for holder in holders:
        holder.communicate(timeout=15)


def test_sigkill_of_the_holder_frees_the_device_and_kills_the_command(tmp_path: Path) -> None:
    holder = _holder(tmp_path, "sh", "-c", "echo $$; exec sleep 60", run_id="victim")
    device = _wait_until_leased(tmp_path, "victim")
    assert holder.stdout is not None
    command_pid = int(holder.stdout.readline())
    assert not _is_free(tmp_path, device)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=5)
    assert _is_free(tmp_path, device)  # the kernel released the flock with the holder
    # PR_SET_PDEATHSIG: the command died with its holder (it is a zombie until init reaps it).
    deadline = time.monotonic() + 5
    while _alive(command_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(command_pid), "the command outlived its lease holder"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_sigterm_is_forwarded_and_the_exit_code_kept(tmp_path: Path) -> None:
    script = "trap 'exit 3' TERM; while true; do sleep 0.1; done"
    holder = _holder(tmp_path, "sh", "-c", script, run_id="t")
    device = _wait_until_leased(tmp_path, "t")
    holder.send_signal(signal.SIGTERM)
    holder.communicate(timeout=10)
    assert holder.returncode == 3
    assert _is_free(tmp_path, device)


def test_parse_devices_rejects_bad_pools() -> None:
    assert gpu_lease.parse_devices("0, 1") == ("0", "1")
    assert gpu_lease.parse_devices([0, "GPU-3f2a"]) == ("0", "GPU-3f2a")
    for bad in ("", "0,0", "../x"):
        with pytest.raises(ValueError):
            gpu_lease.parse_devices(bad)


def test_count_takes_all_or_nothing(tmp_path: Path) -> None:
    one = gpu_lease.try_acquire(tmp_path, POOL, count=1, run_id="one")
    assert one is not None
    assert gpu_lease.try_acquire(tmp_path, POOL, count=2, run_id="two") is None
    assert _is_free(tmp_path, "1")  # the failed 2-device attempt gave back what it took
    gpu_lease.release(one)
    both = gpu_lease.try_acquire(tmp_path, POOL, count=2, run_id="two")
    assert both is not None and both.cuda_visible_devices == "0,1"
    gpu_lease.release(both)


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


# --- the launcher in a real Dagster instance -----------------------------------------------------

# The dagster.yaml proposed for the repo, with the launcher's pool from the environment.
DAGSTER_YAML = """\
storage:
  sqlite:
    base_dir:
      env: DAGSTER_HOME

run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator

concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: health_training/gpu
        limit: 2

run_launcher:
  module: health_training.launcher
  class: GpuPoolRunLauncher
  config:
    wait_seconds: 3
    terminate_grace_seconds: 20

run_monitoring:
  enabled: true
  max_runtime_seconds: 86400

telemetry:
  enabled: false
"""

JOBS_PY = """
import json, os, time
import dagster as dg


@dg.op(config_schema={"seconds": dg.Field(float, default_value=2.0)})
def report_device(context):
    start = time.time()
    time.sleep(context.op_config["seconds"])
    path = os.path.join(os.environ["GPU_TEST_OUT"], f"{context.run_id}.json")
    device = os.environ.get("CUDA_VISIBLE_DEVICES")
    with open(path, "w") as f:
        json.dump({"device": device, "start": start, "end": time.time()}, f)


@dg.job(executor_def=dg.in_process_executor)
def sleepy():
    report_device()


defs = dg.Definitions(jobs=[sleepy])
"""


class DagsterEnv:
    """A temp DAGSTER_HOME with the proposed dagster.yaml and a one-job code location."""

    def __init__(self, root: Path, instance: dg.DagsterInstance, context: WorkspaceProcessContext):
        self.root = root
        self.out = root / "out"
        self.instance = instance
        self.context = context

    @property
    def launcher(self) -> GpuPoolRunLauncher:
        launcher = self.instance.run_launcher
        assert isinstance(launcher, GpuPoolRunLauncher)
        return launcher

    def create_run(self, tags: dict[str, str], seconds: float = 2.0) -> str:
        from dagster._core.definitions.selector import JobSubsetSelector

        location = self.context.create_request_context().get_code_location("gpu_test")
        repo = next(iter(location.get_repositories().values()))
        selector = JobSubsetSelector(
            location_name=location.name,
            repository_name=repo.name,
            job_name="sleepy",
            op_selection=None,
        )
        job = location.get_job(selector)
        run_config = {"ops": {"report_device": {"config": {"seconds": seconds}}}}
        plan = location.get_execution_plan(
            job, run_config, step_keys_to_execute=None, known_state=None, instance=self.instance
        )
        run = self.instance.create_run(
            job_name=job.name,
            run_id=None,
            run_config=run_config,
            resolved_op_selection=None,
            step_keys_to_execute=None,
            op_selection=None,
            status=None,
            root_run_id=None,
            parent_run_id=None,
            tags={**job.tags, **tags},
            job_snapshot=job.job_snapshot,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            parent_job_snapshot=job.parent_job_snapshot,
            remote_job_origin=job.get_remote_origin(),
            job_code_origin=job.get_python_origin(),
            asset_selection=None,
            asset_check_selection=None,
            asset_graph=repo.asset_graph,
        )
        return run.run_id

    def launch(self, run_id: str) -> None:
        self.instance.launch_run(run_id, self.context.create_request_context())

    def wait_for(self, run_id: str, statuses: set[str], timeout: float = 60) -> dg.DagsterRun:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.instance.get_run_by_id(run_id)
            assert run is not None
            if run.status.value in statuses:
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} still {run.status} after {timeout}s")

    def report(self, run_id: str) -> dict:
        return json.loads((self.out / f"{run_id}.json").read_text())


@pytest.fixture(scope="module")
def dagster_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterEnv]:
    root = tmp_path_factory.mktemp("gpu_launcher")
    home = root / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    (root / "jobs.py").write_text(textwrap.dedent(JOBS_PY))
    (root / "out").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        mp.setenv("GPU_TEST_OUT", str(root / "out"))
        mp.setenv("HEALTH_TRAINING_GPU_DEVICES", ",".join(POOL))
        mp.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        target = PythonFileTarget(
            python_file=str(root / "jobs.py"),
            attribute=None,
            working_directory=str(root),
            location_name="gpu_test",
        )
        with (
            dg.DagsterInstance.get() as instance,
            WorkspaceProcessContext(instance, target) as context,
        ):
            env = DagsterEnv(root, instance, context)
            yield env
            env.launcher.join(timeout=60)


def _wait_gone(pid: int, timeout: float = 30) -> None:
    """Until `pid` has exited and been reaped (the launcher reaps the holders it starts)."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"process {pid} still there after {timeout}s"
        time.sleep(0.05)


def _running_gpu_runs(env: DagsterEnv) -> list[str]:
    runs = env.instance.get_runs(dg.RunsFilter(tags={GPU_TAG: "1"}))
    return [r.run_id for r in runs if not r.is_finished]


@pytest.mark.slow
def test_two_gpu_runs_share_the_pool_and_a_third_is_refused(dagster_env: DagsterEnv) -> None:
    env = dagster_env
    assert env.launcher.devices == POOL
    assert env.launcher.lease_dir == Path(os.environ["DAGSTER_HOME"]) / "gpu_leases"
    first, second, third = (env.create_run({GPU_TAG: "1"}, seconds=8) for _ in range(3))
    env.launch(first)
    env.launch(second)
    with pytest.raises(DagsterLaunchFailedError, match="no free GPU"):
        env.launch(third)
    refused = env.wait_for(third, {"FAILURE"})
    assert any("no free GPU" in e.message for e in env.instance.all_logs(third))
    assert refused.tags.get(DEVICES_TAG) is None

    runs = [env.wait_for(run_id, {"SUCCESS"}) for run_id in (first, second)]
    reports = [env.report(run_id) for run_id in (first, second)]
    assert sorted(r["device"] for r in reports) == ["0", "1"]
    assert [r.tags[DEVICES_TAG] for r in runs] == [r["device"] for r in reports]
    assert max(r["start"] for r in reports) < min(r["end"] for r in reports)  # ran at once
    leased = [e.message for e in env.instance.all_logs(first) if "Leased GPU" in e.message]
    assert leased and runs[0].tags[PID_TAG] in leased[0]


@pytest.mark.slow
def test_untagged_run_launches_through_the_code_server(dagster_env: DagsterEnv) -> None:
    env = dagster_env
    run_id = env.create_run({})
    env.launch(run_id)
    run = env.wait_for(run_id, {"SUCCESS"})
    assert env.report(run_id)["device"] is None
    assert PID_TAG not in run.tags and DEVICES_TAG not in run.tags
    assert env.launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING


@pytest.mark.slow
def test_terminate_cancels_the_run_and_frees_its_lease(dagster_env: DagsterEnv) -> None:
    env = dagster_env
    run_id = env.create_run({GPU_TAG: "1"}, seconds=120)
    env.launch(run_id)
    run = env.wait_for(run_id, {"STARTED"})
    device, pid = run.tags[DEVICES_TAG], int(run.tags[PID_TAG])
    assert not _is_free(env.launcher.lease_dir, device)
    assert env.launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING

    assert env.launcher.terminate(run_id)
    env.wait_for(run_id, {"CANCELED"}, timeout=40)
    _wait_gone(pid)
    assert _is_free(env.launcher.lease_dir, device)
    assert not env.launcher.terminate(run_id)  # already finished


@pytest.mark.slow
def test_run_monitoring_fails_a_run_whose_holder_was_killed(dagster_env: DagsterEnv) -> None:
    import logging

    from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration

    env = dagster_env
    run_id = env.create_run({GPU_TAG: "1"}, seconds=120)
    env.launch(run_id)
    run = env.wait_for(run_id, {"STARTED"})
    os.kill(int(run.tags[PID_TAG]), signal.SIGKILL)
    _wait_gone(int(run.tags[PID_TAG]))
    assert _is_free(env.launcher.lease_dir, run.tags[DEVICES_TAG])
    health = env.launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED

    list(execute_run_monitoring_iteration(env.context, logging.getLogger("test")))
    failed = env.wait_for(run_id, {"FAILURE"}, timeout=10)
    assert failed.status.value == "FAILURE"


@pytest.mark.slow
def test_tag_concurrency_limit_keeps_the_third_gpu_run_queued(dagster_env: DagsterEnv) -> None:
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
        QueuedRunCoordinatorDaemon,
    )

    env = dagster_env
    assert not _running_gpu_runs(env)
    run_ids = [env.create_run({GPU_TAG: "1"}) for _ in range(3)]
    for run_id in run_ids:
        env.instance.submit_run(run_id, env.context.create_request_context())
    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    list(daemon.run_iteration(env.context))
    statuses = [env.instance.get_run_by_id(r).status.value for r in run_ids]
    assert statuses.count("QUEUED") == 1, statuses
    launched = [r for r, s in zip(run_ids, statuses, strict=True) if s != "QUEUED"]
    queued = run_ids[statuses.index("QUEUED")]
    for run_id in launched:
        env.wait_for(run_id, {"SUCCESS"})
    list(daemon.run_iteration(env.context))
    env.wait_for(queued, {"SUCCESS"})
    assert env.report(queued)["device"] in POOL


# --- production tags for K8sRunLauncher / EcsRunLauncher -----------------------------------------


def test_k8s_run_tags_shape() -> None:
    tags = k8s_run_tags(
        2,
        gpu_type="NVIDIA-H100-80GB-HBM3",
        node_selector={"pool": "gpu"},
        cpu="8",
        memory="32Gi",
    )
    assert list(tags) == ["dagster-k8s/config"]
    assert json.loads(tags["dagster-k8s/config"]) == {
        "container_config": {
            "resources": {
                "limits": {"nvidia.com/gpu": "2", "cpu": "8", "memory": "32Gi"},
                "requests": {"cpu": "8", "memory": "32Gi"},
            }
        },
        "pod_spec_config": {
            "node_selector": {"pool": "gpu", "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
            "tolerations": [
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            ],
        },
        "merge_behavior": "DEEP",
    }
    plain = json.loads(k8s_run_tags(cpu="4", memory="16Gi", tolerations=[])["dagster-k8s/config"])
    assert plain["pod_spec_config"] == {"tolerations": []}
    assert plain["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    with pytest.raises(ValueError):
        k8s_run_tags(0, cpu="1", memory="1Gi")


def test_k8s_run_tags_pass_dagster_k8s_validation() -> None:
    job = pytest.importorskip("dagster_k8s.job")  # not a dependency: skipped unless installed
    config = job.get_user_defined_k8s_config(k8s_run_tags(gpu_type="L4", cpu="4", memory="16Gi"))
    assert config.container_config["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert config.pod_spec_config["node_selector"] == {"nvidia.com/gpu.product": "L4"}
    assert config.pod_spec_config["tolerations"][0]["effect"] == "NoSchedule"
    assert config.merge_behavior.value == "DEEP"


def test_ecs_run_tags_shape_and_what_ecs_run_launcher_makes_of_them() -> None:
    from types import SimpleNamespace

    from dagster_aws.ecs.launcher import EcsRunLauncher

    tags = ecs_run_tags(1, cpu="4096", memory="16384")
    assert set(tags) == {"ecs/container_overrides", "ecs/cpu", "ecs/memory"}
    assert json.loads(tags["ecs/container_overrides"]) == {
        "resourceRequirements": [{"type": "GPU", "value": "1"}]
    }
    assert (tags["ecs/cpu"], tags["ecs/memory"]) == ("4096", "16384")
    # The launcher's own tag readers (no AWS client needed: they only read run tags).
    run = dg.DagsterRun(job_name="train_and_register", run_id="r1", tags=tags)
    overrides = EcsRunLauncher._get_container_overrides(None, run)  # type: ignore[arg-type]
    assert overrides["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    context = SimpleNamespace(run_resources={})
    sizes = EcsRunLauncher.get_cpu_and_memory_overrides(None, context, run)  # type: ignore[arg-type]
    assert sizes == {"cpu": "4096", "memory": "16384"}
    with pytest.raises(ValueError, match="integer"):
        ecs_run_tags(cpu="4 vCPU", memory="16384")
