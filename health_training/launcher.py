"""A run launcher that puts GPU-tagged runs on a local pool of GPUs, one lease per run.

Runs without the `health_training/gpu` tag launch exactly as with Dagster's `DefaultRunLauncher`
(through the code server). A run tagged `health_training/gpu: "N"` (N >= 1) starts as its own OS
process, `dagster api execute_run`, wrapped by the lease holder of `health_training/gpu_lease.py`:
the holder locks N free devices of the pool under `lease_dir`, sets `CUDA_VISIBLE_DEVICES` and
frees the devices when it ends, however it ends. The QueuedRunCoordinator's tag concurrency limit
keeps extra GPU runs queued. A run launched with the pool full waits up to `wait_seconds` (default
30) for a lease, then fails with "no free GPU". The wait is needed: a run counts as finished for
the limit as soon as it reports success, a moment before its worker process exits and frees the
GPU; the next queued run would otherwise find the pool still full. Name it in dagster.yaml:

    run_launcher:
      module: health_training.launcher
      class: GpuPoolRunLauncher
      config:
        devices: "0,1"      # or [0, 1], {env: VAR}; left out: $HEALTH_TRAINING_GPU_DEVICES or "0"
        lease_dir: /var/lib/health-training/gpu-leases  # left out: $DAGSTER_HOME/gpu_leases

One host only: the webserver and the daemon must share the lease directory on a local disk.

In production on Kubernetes or ECS the platform schedules GPUs, and this launcher is not used:
name `K8sRunLauncher` (dagster-k8s) or `EcsRunLauncher` (dagster-aws) instead, and tag the GPU
job with `k8s_run_tags(...)` or `ecs_run_tags(...)` (below): no import of those packages needed.

    run_launcher:                      # Kubernetes (pip install dagster-k8s==0.29.27)
      module: dagster_k8s
      class: K8sRunLauncher
      config:
        job_namespace: dagster
        service_account_name: dagster
        instance_config_map: dagster-instance
        postgres_password_secret: dagster-postgresql-secret
        dagster_home: /opt/dagster/dagster_home
        load_incluster_config: true    # job_image left out: the code location's image

    run_launcher:                      # ECS (dagster-aws, already a dependency)
      module: dagster_aws.ecs
      class: EcsRunLauncher
      config:
        container_name: run
        task_definition: {env: HEALTH_TRAINING_ECS_TASK_DEFINITION}  # GPU needs the EC2 launch
        run_task_kwargs:                                               # type, not Fargate
          capacityProviderStrategy: [{capacityProvider: gpu-asg, weight: 1}]

and in definitions.py:

    tags={GPU_TAG: "1", **k8s_run_tags(1, cpu="8", memory="32Gi")}    # or
    tags={GPU_TAG: "1", **ecs_run_tags(1, cpu="8192", memory="61440")}

Keep the `concurrency.runs.tag_concurrency_limits` entry on GPU_TAG there too: it then bounds GPU
spend instead of matching a local pool.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.errors import DagsterLaunchFailedError
from dagster._core.events import EngineEventData
from dagster._core.launcher import (
    CheckRunHealthResult,
    DefaultRunLauncher,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._core.origin import get_python_environment_entry_point
from dagster._core.storage.dagster_run import DagsterRun
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import ConfigurableClass, ConfigurableClassData, serialize_value

from health_training import gpu_lease

GPU_TAG = "health_training/gpu"
DEVICES_TAG = "health_training/gpu_devices"
PID_TAG = "health_training/gpu_lease_pid"
HOST_TAG = "health_training/gpu_lease_host"
DEVICES_ENV = "HEALTH_TRAINING_GPU_DEVICES"


def gpus_requested(tags: Mapping[str, str], gpu_tag: str = GPU_TAG) -> int:
    """How many GPUs a run's tags ask for: 0 when untagged, else the tag's positive integer."""
    value = tags.get(gpu_tag)
    if value is None or value.strip() in ("", "0"):
        return 0
    if not value.strip().isdigit():
        raise ValueError(f"run tag {gpu_tag}={value!r} must be a GPU count such as '1'")
    return int(value)


def resolve_devices(config_value: object) -> tuple[str, ...]:
    """The `devices` config: a list, a comma-separated string, `{env: VAR}`, or left out."""
    if config_value is None:
        config_value = os.environ.get(DEVICES_ENV, "0")
    elif isinstance(config_value, Mapping) and set(config_value) == {"env"}:
        var = str(config_value["env"])
        if var not in os.environ:
            raise ValueError(f"run_launcher.config.devices: environment variable {var} is not set")
        config_value = os.environ[var]
    if not isinstance(config_value, str | list | tuple):
        raise ValueError(f"run_launcher.config.devices: {config_value!r} is not a device list")
    return gpu_lease.parse_devices(config_value)


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
        self._default = DefaultRunLauncher()
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

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        count = gpus_requested(run.tags, self.gpu_tag)
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
            serialize_value(args),
        ]
        holder, status_fd = self._start_holder(run, count, command)
        self._instance.add_run_tags(
            run.run_id, {PID_TAG: str(holder.pid), HOST_TAG: socket.gethostname()}
        )
        status = self._read_status(holder, status_fd, run)
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

    def _start_holder(
        self, run: DagsterRun, count: int, command: list[str]
    ) -> tuple[subprocess.Popen, int]:
        read_fd, write_fd = os.pipe()
        # `-I` with the file path: the holder imports the standard library only, whatever
        # sys.path or PYTHON* variables this process was started with.
        holder_command = [
            sys.executable,
            "-I",
            gpu_lease.__file__,
            "hold",
            f"--lease-dir={self.lease_dir}",
            f"--devices={','.join(self.devices)}",
            f"--count={count}",
            f"--wait={self.wait_seconds}",
            f"--run-id={run.run_id}",
            f"--kill-after={self.terminate_grace_seconds}",
            f"--status-fd={write_fd}",
            "--",
            *command,
        ]
        try:
            # A session of its own: stopping the webserver or the daemon (Ctrl-C) leaves a
            # training run alone, and terminate() can signal the holder's whole group.
            holder = subprocess.Popen(
                holder_command,
                stdin=subprocess.DEVNULL,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        self._holders[run.run_id] = holder
        threading.Thread(target=holder.wait, name=f"reap-{holder.pid}", daemon=True).start()
        return holder, read_fd

    def _read_status(self, holder: subprocess.Popen, fd: int, run: DagsterRun) -> str:
        """The holder's one status line: 'leased 0' or 'error <why>'."""
        deadline = time.monotonic() + self.wait_seconds + self.startup_timeout_seconds
        data = b""
        try:
            while b"\n" not in data:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                    _signal_group(holder.pid, signal.SIGKILL)
                    return f"error the GPU lease holder for run {run.run_id} did not report"
                chunk = os.read(fd, 4096)
                if not chunk:
                    return (
                        f"error the GPU lease holder for run {run.run_id} exited with code "
                        f"{holder.wait()} before taking a lease"
                    )
                data += chunk
        finally:
            os.close(fd)
        return data.decode(errors="replace").splitlines()[0]

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        if not gpus_requested(run.tags, self.gpu_tag):
            return self._default.terminate(run_id)
        self._instance.report_run_canceling(run)
        pid = run.tags.get(PID_TAG)
        if pid is None or not self._holder_alive(int(pid), run_id):
            self._instance.report_engine_event(
                f"No live GPU lease holder to stop for run {run_id} (pid {pid}).",
                run,
                cls=self.__class__,
            )
            return False
        # The holder forwards SIGTERM to the run worker, SIGKILLs it after the grace period and
        # exits; its lease frees with it.
        _signal_group(int(pid), signal.SIGTERM)
        self._instance.report_engine_event(
            f"Sent SIGTERM to GPU lease holder pid {pid}; the run worker is killed if it is still "
            f"running after {self.terminate_grace_seconds:g}s, and GPU "
            f"{run.tags.get(DEVICES_TAG)} is free when it exits.",
            run,
            cls=self.__class__,
        )
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        if not gpus_requested(run.tags, self.gpu_tag):
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
        if self._holder_alive(int(pid), run.run_id):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)
        return CheckRunHealthResult(WorkerStatus.FAILED, f"GPU lease holder pid {pid} is gone")

    def get_run_worker_debug_info(
        self, run: DagsterRun, include_container_logs: bool | None = True
    ) -> str | None:
        if not gpus_requested(run.tags, self.gpu_tag):
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

    @staticmethod
    def _holder_alive(pid: int, run_id: str) -> bool:
        """Whether `pid` is a live (not zombie) holder of `run_id`; guards against pid reuse."""
        proc = Path(f"/proc/{pid}")
        if not Path("/proc/self").exists():  # no procfs (macOS): existence is all we can see
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
            return True
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False
        return state != "Z" and f"--run-id={run_id}".encode() in cmdline


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


# What K8sRunLauncher / EcsRunLauncher (0.29) read from run tags, built without importing them.
K8S_CONFIG_TAG = "dagster-k8s/config"
ECS_CONTAINER_OVERRIDES_TAG = "ecs/container_overrides"
NVIDIA_GPU = "nvidia.com/gpu"  # the NVIDIA device plugin's resource name, also the GPU node taint
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"  # set by NVIDIA GPU feature discovery


def k8s_run_tags(
    gpus: int = 1,
    *,
    gpu_type: str | None = None,
    node_selector: Mapping[str, str] | None = None,
    tolerations: list[Mapping[str, str]] | None = None,
    cpu: str,
    memory: str,
) -> dict[str, str]:
    """The `dagster-k8s/config` tag for a run pod with `gpus` NVIDIA GPUs.

    `gpu_type` pins the GPU model (`NVIDIA-H100-80GB-HBM3`) through the feature-discovery label;
    tolerations default to the usual `nvidia.com/gpu` NoSchedule taint of GPU node pools.
    """
    if gpus < 1:
        raise ValueError(f"gpus={gpus}: a GPU run needs at least one GPU")
    selector = dict(node_selector or {})
    if gpu_type:
        selector[GPU_PRODUCT_LABEL] = gpu_type
    if tolerations is None:
        tolerations = [{"key": NVIDIA_GPU, "operator": "Exists", "effect": "NoSchedule"}]
    pod_spec: dict[str, object] = {"tolerations": [dict(t) for t in tolerations]}
    if selector:
        pod_spec["node_selector"] = selector
    config = {
        "container_config": {
            "resources": {
                # Extended resources such as GPUs are set as limits only; requests follow.
                "limits": {NVIDIA_GPU: str(gpus), "cpu": cpu, "memory": memory},
                "requests": {"cpu": cpu, "memory": memory},
            }
        },
        "pod_spec_config": pod_spec,
        # DEEP keeps the instance's run_k8s_config (env, volumes) and adds ours to it.
        "merge_behavior": "DEEP",
    }
    return {K8S_CONFIG_TAG: json.dumps(config, sort_keys=True)}


def ecs_run_tags(gpus: int = 1, *, cpu: str, memory: str) -> dict[str, str]:
    """ECS tags for a run task with `gpus` GPUs: `cpu` in CPU units, `memory` in MiB.

    EcsRunLauncher merges `ecs/container_overrides` into the run container's override and sets
    `ecs/cpu` / `ecs/memory` on the task and the container (as integers: "4096", not "4 vCPU").
    GPUs need the EC2 launch type (a GPU capacity provider); Fargate has none.
    """
    if gpus < 1:
        raise ValueError(f"gpus={gpus}: a GPU run needs at least one GPU")
    for name, value in (("cpu", cpu), ("memory", memory)):
        if not str(value).isdigit():
            raise ValueError(f"ecs_run_tags {name}={value!r}: ECS wants an integer string")
    overrides = {"resourceRequirements": [{"type": "GPU", "value": str(gpus)}]}
    return {
        ECS_CONTAINER_OVERRIDES_TAG: json.dumps(overrides),
        "ecs/cpu": str(cpu),
        "ecs/memory": str(memory),
    }


if __name__ == "__main__":
    # `python -m health_training.launcher hold ...` is the same as `python -m
    # health_training.gpu_lease hold ...` (which skips importing dagster).
    sys.exit(gpu_lease.main())
