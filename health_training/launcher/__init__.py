"""Running Dagster runs on devices: a local GPU pool, and the tags for Kubernetes and ECS GPUs.

- `gpu_pool.py`: `GpuPoolRunLauncher`, the run launcher dagster.yaml names as
  `module: health_training.launcher`, `class: GpuPoolRunLauncher`; it leases local GPUs per run.
- `holders.py`: the launcher's side of a lease holder process (start it, read its status, watch it).
- `leases.py`: flock-based device leases and the holder itself,
  `python -m health_training.launcher.leases hold ... -- command`.
- `cloud.py`: `k8s_run_tags` / `ecs_run_tags` for `K8sRunLauncher` / `EcsRunLauncher` in production.
- `k8s.py`: `GpuK8sRunLauncher`, K8sRunLauncher that gives GPU runs (run tag or op tag) the GPU
  image, limit, tolerations and node selector from its `gpu_run` config (deploy/helm/values.yaml).

The names below are re-exported here. The run tags (`GPU_TAG` and the
lease tags) are defined in `health_training.constants`, shared with the jobs and assets.
"""

from __future__ import annotations

import importlib
from typing import Any

# Each public name and the module that defines it. They load on first use (PEP 562), not when the
# package is imported: `python -m health_training.launcher.leases` imports this package first, and
# the lease holder must start in milliseconds, without dagster. Type checkers see Any for these.
_EXPORTS = {
    "GpuPoolRunLauncher": "health_training.launcher.gpu_pool",
    "DEVICES_ENV": "health_training.launcher.gpu_pool",
    "DEVICES_TAG": "health_training.constants",
    "HOST_TAG": "health_training.constants",
    "PID_TAG": "health_training.constants",
    "gpus_requested": "health_training.launcher.gpu_pool",
    "gpus_of_ops": "health_training.launcher.gpu_pool",
    "GpuK8sRunLauncher": "health_training.launcher.k8s",
    "resolve_devices": "health_training.launcher.gpu_pool",
    "GPU_TAG": "health_training.constants",
    "K8S_CONFIG_TAG": "health_training.launcher.cloud",
    "ECS_CONTAINER_OVERRIDES_TAG": "health_training.launcher.cloud",
    "NVIDIA_GPU": "health_training.launcher.cloud",
    "GPU_PRODUCT_LABEL": "health_training.launcher.cloud",
    "k8s_run_tags": "health_training.launcher.cloud",
    "ecs_run_tags": "health_training.launcher.cloud",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
