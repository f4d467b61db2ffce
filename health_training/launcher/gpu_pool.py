"""A run launcher that puts GPU-tagged runs on a local pool of GPUs, one lease per run.

Runs without the `health_training/gpu` tag (`health_training.constants.GPU_TAG`) launch exactly as with
Dagster's `DefaultRunLauncher` (through the code server). A run tagged `health_training/gpu: "N"`
(N >= 1) starts as its own OS process, `dagster api execute_run`, wrapped by the lease holder of
`leases.py`: the holder locks N free devices of the pool under `lease_dir`, sets
`CUDA_VISIBLE_DEVICES` and frees the devices when it ends, however it ends. The QueuedRunCoordinator's
tag concurrency limit keeps extra GPU runs queued. A run launched with the pool full waits up to
`wait_seconds` (default 30) for a lease, then fails with "no free GPU". The wait is needed: a run
counts as finished for the limit as soon as it reports success, a moment before its worker process
exits and frees the GPU; the next queued run would otherwise find the pool still full. Name it in
dagster.yaml:

    run_launcher:
      module: health_training.launcher
      class: GpuPoolRunLauncher
      config:
        devices: "0,1"      # or [0, 1], {env: VAR}; left out: $HEALTH_TRAINING_GPU_DEVICES or "0"
        lease_dir: /var/lib/health-training/gpu-leases  # left out: $DAGSTER_HOME/gpu_leases

One host only: the webserver and the daemon must share the lease directory on a local disk. On
Kubernetes or ECS the platform schedules GPUs instead: see `cloud.py`.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

# Dagster has no public API for writing a run launcher (or for processing one config value):
# these are the names its own launchers use.
from dagster._config import process_config, resolve_to_config_type
from dagster._core.errors import DagsterLaunchFailedError
from dagster._core.events import EngineEventData
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
from dagster._core.origin import get_python_environment_entry_point
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from health_training.constants import DEVICES_TAG, GPU_TAG, HOST_TAG, PID_TAG
from health_training.launcher import leases
from health_training.launcher.holders import holder_alive, read_status, signal_group, start_holder

DEVICES_ENV = "HEALTH_TRAINING_GPU_DEVICES"


def gpus_requested(tags: Mapping[str, str], gpu_tag: str = GPU_TAG) -> int:
    """How many GPUs a run's tags ask for: 0 when untagged, else the tag's positive integer."""
    value = tags.get(gpu_tag)
    if value is None or value.strip() in ("", "0"):
        return 0
    if not value.strip().isdigit():
        raise ValueError(f"run tag {gpu_tag}={value!r} must be a GPU count such as '1'")
    return int(value)


def gpus_of_ops(instance: dg.DagsterInstance, run: dg.DagsterRun, gpu_tag: str = GPU_TAG) -> int:
    """GPUs the run's selected ops ask for through their op tags: a training materialized
    from the UI (an asset job without our run tags) is placed like a tagged one."""
    if not run.job_snapshot_id:
        return 0
    snapshot = instance.get_job_snapshot(run.job_snapshot_id)
    selected = {key.path[-1] for key in run.asset_selection or ()}
    return max(
        (
            gpus_requested(op.tags, gpu_tag)
            for op in snapshot.node_defs_snapshot.op_def_snaps
            if not selected or op.name in selected
        ),
        default=0,
    )


def _string_source(value: Mapping[str, Any], default: str | None = None) -> str:
    """`{env: VAR}` read the way Dagster reads every `env:` value of dagster.yaml: through its
    config processing of a `StringSource` (the config schema cannot say "a string, an `env:` or a
    list", so `devices` is typed Any and its `env:` form is processed here). An unset variable
    gives `default`, or fails naming the variable when there is none."""
    result = process_config(resolve_to_config_type(dg.StringSource), dict(value))
    if result.success:
        return str(result.value)
    message = result.errors[0].message if result.errors else "invalid"
    unset = re.search(r'environment variable "(\w+)" which is not set', message)
    if unset and default is not None:
        return default
    if unset:
        raise ValueError(f"run_launcher.config.devices: environment variable {unset[1]} is not set")
    raise ValueError(f"run_launcher.config.devices: {dict(value)!r}: {message.splitlines()[0]}")


def resolve_devices(config_value: object) -> tuple[str, ...]:
    """The `devices` config: a list, a comma-separated string, `{env: VAR}`, or left out
    ($HEALTH_TRAINING_GPU_DEVICES, else "0")."""
    if config_value is None:
        config_value = _string_source({"env": DEVICES_ENV}, default="0")
    elif isinstance(config_value, Mapping):
        config_value = _string_source(config_value)
    if not isinstance(config_value, str | list | tuple):
        raise ValueError(f"run_launcher.config.devices: {config_value!r} is not a device list")
    return leases.parse_devices(config_value)


class GpuPoolRunLauncher(RunLauncher, ConfigurableClass):
    """DefaultRunLauncher for ordinary runs; leased local GPUs for runs tagged `gpu_tag`."""

    def __init__(
        self,
        inst_data: ConfigurableClassData | None = None,
        devices: object = None,
        lease_dir: str | None = None,
        gpu_tag: str = GPU_TAG,
        wait_seconds: float = 30,
        terminate_grace_seconds: float = 60,
        startup_timeout_seconds: float = 60,
    ):
        self._inst_data = inst_data
        self.devices = resolve_devices(devices)
        self._lease_dir = lease_dir
        self.gpu_tag = gpu_tag
        self.wait_seconds = wait_seconds
        self.terminate_grace_seconds = terminate_grace_seconds
        self.startup_timeout_seconds = startup_timeout_seconds
        self._default = dg.DefaultRunLauncher()
        # Holders started by this process, so their exit codes are known and no zombie is left.
        self._holders: dict[str, subprocess.Popen] = {}
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, dg.Field]:
        return {
            "devices": dg.Field(dg.Any, is_required=False, description="GPU pool, e.g. '0,1'"),
            "lease_dir": dg.Field(dg.StringSource, is_required=False),
            "gpu_tag": dg.Field(str, default_value=GPU_TAG),
            "wait_seconds": dg.Field(float, default_value=30.0),
            "terminate_grace_seconds": dg.Field(float, default_value=60.0),
            "startup_timeout_seconds": dg.Field(float, default_value=60.0),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> GpuPoolRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance: dg.DagsterInstance) -> None:
        super().register_instance(instance)
        self._default.register_instance(instance)

    @property
    def lease_dir(self) -> Path:
        if self._lease_dir:
            return Path(self._lease_dir)
        return Path(self._instance.root_directory) / "gpu_leases"

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def _gpus_of_ops(self, run: dg.DagsterRun) -> int:
        return gpus_of_ops(self._instance, run, self.gpu_tag)

    def _holds_lease(self, run: dg.DagsterRun) -> bool:
        """Placed on a GPU lease by this launcher: asked for by run tag, or by op tag (a UI
        materialization), which the holder's pid tag records."""
        return bool(gpus_requested(run.tags, self.gpu_tag)) or PID_TAG in run.tags

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        count = gpus_requested(run.tags, self.gpu_tag) or self._gpus_of_ops(run)
        if count == 0:
            self._default.launch_run(context)
            return
        if count > len(self.devices):
            raise DagsterLaunchFailedError(
                f"run tag {self.gpu_tag}={count} asks for more GPUs than the pool "
                f"{','.join(self.devices)} has"
            )
        # Forget holders that have exited: the health check falls back to the process table.
        self._holders = {k: p for k, p in self._holders.items() if p.returncode is None}
        job_origin = run.job_code_origin
        if job_origin is None:
            raise DagsterLaunchFailedError(f"run {run.run_id} has no code origin to execute")
        args = ExecuteRunArgs(
            job_origin=job_origin,
            run_id=run.run_id,
            instance_ref=self._instance.get_ref(),
            set_exit_code_on_failure=True,
        )
        # The code location's own Python, as the code server runs it: a bare `dagster` entry
        # point would depend on PATH (and `make dev` does not put .venv/bin on it).
        command = [
            *get_python_environment_entry_point(job_origin.executable_path),
            "api",
            "execute_run",
            dg.serialize_value(args),
        ]
        holder, status_fd = start_holder(
            command,
            lease_dir=self.lease_dir,
            devices=self.devices,
            count=count,
            wait_seconds=self.wait_seconds,
            run_id=run.run_id,
            kill_after=self.terminate_grace_seconds,
        )
        self._holders[run.run_id] = holder
        self._instance.add_run_tags(
            run.run_id, {PID_TAG: str(holder.pid), HOST_TAG: socket.gethostname()}
        )
        # The holder reports once the run worker has started: the wait for a device plus that.
        timeout = self.wait_seconds + self.startup_timeout_seconds
        status = read_status(holder, status_fd, timeout, run.run_id)
        if not status.startswith("leased "):
            holder.wait()
            raise DagsterLaunchFailedError(status.removeprefix("error ").strip())
        devices = status.removeprefix("leased ").strip()
        self._instance.add_run_tags(run.run_id, {DEVICES_TAG: devices})
        self._instance.report_engine_event(
            f"Leased GPU {devices} (lease holder pid {holder.pid}); the run worker starts with "
            f"CUDA_VISIBLE_DEVICES={devices}.",
            run,
            EngineEventData(
                metadata={
                    "CUDA_VISIBLE_DEVICES": devices,
                    "lease holder pid": dg.MetadataValue.int(holder.pid),
                    "host": socket.gethostname(),
                    "lease dir": str(self.lease_dir),
                }
            ),
            cls=self.__class__,
        )

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        if not self._holds_lease(run):
            return self._default.terminate(run_id)
        self._instance.report_run_canceling(run)
        pid = run.tags.get(PID_TAG)
        if pid is None or not holder_alive(int(pid), run_id):
            self._instance.report_engine_event(
                f"No live GPU lease holder to stop for run {run_id} (pid {pid}).",
                run,
                cls=self.__class__,
            )
            return False
        # The holder forwards SIGTERM to the run worker, SIGKILLs it after the grace period and
        # exits; its lease frees with it.
        signal_group(int(pid), signal.SIGTERM)
        self._instance.report_engine_event(
            f"Sent SIGTERM to GPU lease holder pid {pid}; the run worker is killed if it is still "
            f"running after {self.terminate_grace_seconds:g}s, and GPU "
            f"{run.tags.get(DEVICES_TAG)} is free when it exits.",
            run,
            cls=self.__class__,
        )
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        if not self._holds_lease(run):
            # Same as DefaultRunLauncher, which offers no health check: only start, cancel and
            # max-runtime timeouts apply to runs executed by the code server.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not checked (code-server run)")
        pid = run.tags.get(PID_TAG)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, "no GPU lease holder pid tag")
        if run.tags.get(HOST_TAG) not in (None, socket.gethostname()):
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, f"holder runs on {run.tags[HOST_TAG]}; not visible here"
            )
        holder = self._holders.get(run.run_id)
        if holder is not None and holder.returncode is not None:
            status = WorkerStatus.SUCCESS if holder.returncode == 0 else WorkerStatus.FAILED
            return CheckRunHealthResult(status, f"lease holder exited with {holder.returncode}")
        if holder_alive(int(pid), run.run_id):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"GPU lease holder pid {pid} is gone")

    def get_run_worker_debug_info(
        self, run: dg.DagsterRun, include_container_logs: bool | None = True
    ) -> str | None:
        if not self._holds_lease(run):
            return None
        return (
            f"GPU lease holder pid {run.tags.get(PID_TAG)} on {run.tags.get(HOST_TAG)}, "
            f"devices {run.tags.get(DEVICES_TAG)}, lease dir {self.lease_dir}"
        )

    def join(self, timeout: int = 30) -> None:
        deadline = time.monotonic() + timeout
        for holder in list(self._holders.values()):
            holder.wait(timeout=max(0.0, deadline - time.monotonic()))
        self._default.join(timeout=max(1, int(deadline - time.monotonic())))
