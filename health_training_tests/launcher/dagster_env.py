"""A real Dagster instance for launcher tests: a temp DAGSTER_HOME with the repo's launcher setup
and a one-job code location whose op reports the device it was given.

The op writes `<run_id>.started.json` once it runs on its lease; with `hold: true` it then keeps
the lease until the test releases the run (`DagsterEnv.release`), so which runs overlap and when
the pool is full are arranged by the test, not raced against sleeps.

Dagster has no public API for creating a run from a code location or for running one iteration
of the queue and monitoring daemons, so the `dagster._core` / `dagster._daemon` imports that
these need stay in this file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import PythonFileTarget
from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)

from health_training.launcher import PID_TAG, GpuPoolRunLauncher, leases
from health_training_tests.events import DEADLINE, wait_until

# The repo's dagster.yaml launcher setup, with the launcher's pool from the environment.
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
from pathlib import Path

import dagster as dg


def write(path, data):
    # Whole or not at all: the test reads these files as soon as they exist.
    path.with_suffix(".tmp").write_text(json.dumps(data))
    os.replace(path.with_suffix(".tmp"), path)


@dg.op(config_schema={"hold": dg.Field(bool, default_value=False)})
def report_device(context):
    out = Path(os.environ["GPU_TEST_OUT"])
    report = {"device": os.environ.get("CUDA_VISIBLE_DEVICES")}
    write(out / f"{context.run_id}.started.json", report)
    if context.op_config["hold"]:
        released = (out / f"{context.run_id}.release", out / "release-all")
        deadline = time.monotonic() + 900  # only so that a forgotten run cannot hold a device
        while not any(p.exists() for p in released):
            if time.monotonic() > deadline:
                raise RuntimeError("the test never released this run")
            time.sleep(0.05)
    write(out / f"{context.run_id}.json", report)


@dg.job(executor_def=dg.in_process_executor)
def sleepy():
    report_device()


defs = dg.Definitions(jobs=[sleepy])
"""


class DagsterEnv:
    """The instance, the workspace (one code location, "gpu_test") and the op's output folder."""

    def __init__(self, root: Path, instance: dg.DagsterInstance, context: WorkspaceProcessContext):
        self.home = root / "home"
        self.out = root / "out"
        self.instance = instance
        self.context = context

    @property
    def launcher(self) -> GpuPoolRunLauncher:
        launcher = self.instance.run_launcher
        assert isinstance(launcher, GpuPoolRunLauncher)
        return launcher

    def create_run(
        self,
        tags: dict[str, str],
        hold: bool = False,
        *,
        job_name: str = "sleepy",
        run_config: dict | None = None,
        asset_selection: set[dg.AssetKey] | None = None,
    ) -> str:
        """A run of `job_name` as the UI creates one: the job's own tags plus `tags`; with
        `asset_selection`, only those assets (what "Materialize selected" does)."""
        if run_config is None:
            run_config = {"ops": {"report_device": {"config": {"hold": hold}}}}
        return create_run(
            self.instance, self.context, "gpu_test", job_name, run_config, tags, asset_selection
        )

    def launch(self, run_id: str) -> None:
        """As the queue daemon does: straight to the run launcher."""
        self.instance.launch_run(run_id, self.context.create_request_context())

    def submit(self, run_id: str) -> None:
        """As the UI does: to the run coordinator's queue."""
        self.instance.submit_run(run_id, self.context.create_request_context())

    def dequeue_once(self) -> None:
        """One iteration of the queued-run daemon: launch what the concurrency limits allow."""
        list(QueuedRunCoordinatorDaemon(interval_seconds=1).run_iteration(self.context))

    def monitor_once(self) -> None:
        """One iteration of the run-monitoring daemon: health checks of running runs."""
        list(execute_run_monitoring_iteration(self.context, logging.getLogger("test")))

    def get_run(self, run_id: str) -> dg.DagsterRun:
        run = self.instance.get_run_by_id(run_id)
        assert run is not None, run_id
        return run

    def wait_for(self, run_id: str, statuses: set[str]) -> dg.DagsterRun:
        def reached() -> dg.DagsterRun | None:
            run = self.get_run(run_id)
            return run if run.status.value in statuses else None

        return wait_until(reached, f"run {run_id} to reach {statuses}", poll=0.2)

    def started(self, run_id: str) -> dict:
        """What the op reported once it was running on its lease."""
        path = self.out / f"{run_id}.started.json"
        wait_until(path.exists, f"run {run_id}'s op to start", poll=0.1)
        return json.loads(path.read_text())

    def release(self, run_id: str) -> None:
        (self.out / f"{run_id}.release").touch()

    def report(self, run_id: str) -> dict:
        """What the op reported when it finished."""
        return json.loads((self.out / f"{run_id}.json").read_text())

    def wait_holder_gone(self, run_id: str) -> None:
        """Until the run's lease holder has exited and been reaped (the launcher reaps the holders
        it starts), so its device is free for the next test."""
        pid = self.get_run(run_id).tags[PID_TAG]
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), f"lease holder {pid} to exit")

    def device_is_free(self, device: str) -> bool:
        lease = leases.try_acquire(self.launcher.lease_dir, [device], run_id="probe")
        if lease is not None:
            leases.release(lease)
        return lease is not None


def create_run(
    instance: dg.DagsterInstance,
    context: WorkspaceProcessContext,
    location_name: str,
    job_name: str,
    run_config: dict,
    tags: dict[str, str],
    asset_selection: set[dg.AssetKey] | None = None,
) -> str:
    """A run of `job_name` in the code location, created the way the UI creates one (the job's
    own tags plus `tags`; with `asset_selection`, only those assets); returns its id."""
    location = context.create_request_context().get_code_location(location_name)
    repo = next(iter(location.get_repositories().values()))
    keys = frozenset(asset_selection) if asset_selection else None
    selector = JobSubsetSelector(
        location_name=location.name,
        repository_name=repo.name,
        job_name=job_name,
        op_selection=None,
        asset_selection=keys,
    )
    job = location.get_job(selector)
    plan = location.get_execution_plan(
        job, run_config, step_keys_to_execute=None, known_state=None, instance=instance
    )
    run = instance.create_run(
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
        asset_selection=keys,
        asset_check_selection=None,
        asset_graph=repo.asset_graph,
    )
    return run.run_id


@contextlib.contextmanager
def dagster_env(
    root: Path, devices: tuple[str, ...], jobs_py: str = JOBS_PY
) -> Iterator[DagsterEnv]:
    home, out = root / "home", root / "out"
    home.mkdir()
    out.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    (root / "jobs.py").write_text(textwrap.dedent(jobs_py))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        mp.setenv("GPU_TEST_OUT", str(out))
        mp.setenv("HEALTH_TRAINING_GPU_DEVICES", ",".join(devices))
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
            try:
                yield env
            finally:
                (out / "release-all").touch()  # whatever a failed test left holding a device
                env.launcher.join(timeout=int(DEADLINE))
