"""Run tags that put a GPU run on Kubernetes or ECS GPUs, built without importing either launcher.

In production on Kubernetes or ECS the platform schedules GPUs, and `GpuPoolRunLauncher` is not
used: name `K8sRunLauncher` (dagster-k8s) or `EcsRunLauncher` (dagster-aws) in dagster.yaml, and
tag the GPU job with `k8s_run_tags(...)` or `ecs_run_tags(...)`:

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

and on the job (GPU_TAG from health_training.constants):

    tags={GPU_TAG: "1", **k8s_run_tags(1, cpu="8", memory="32Gi")}    # or
    tags={GPU_TAG: "1", **ecs_run_tags(1, cpu="8192", memory="61440")}

Keep the `concurrency.runs.tag_concurrency_limits` entry on GPU_TAG there too: it then bounds GPU
spend instead of matching a local pool.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

# What K8sRunLauncher / EcsRunLauncher (0.29) read from run tags.
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
    image: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The `dagster-k8s/config` tag for a run pod with `gpus` NVIDIA GPUs.

    `gpu_type` pins the GPU model (`NVIDIA-H100-80GB-HBM3`) through the feature-discovery label;
    tolerations default to the usual `nvidia.com/gpu` NoSchedule taint of GPU node pools.
    `image` replaces the code location's (CPU) image with the GPU one; `env` sets variables over
    the ConfigMap's (e.g. a GPU training profile where the ConfigMap names the CPU one).
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
    container: dict[str, object] = {
        "resources": {
            # Extended resources such as GPUs are set as limits only; requests follow.
            "limits": {NVIDIA_GPU: str(gpus), "cpu": cpu, "memory": memory},
            "requests": {"cpu": cpu, "memory": memory},
        }
    }
    if image:
        container["image"] = image
    if env:
        # `env` wins over the ConfigMap's `envFrom` in Kubernetes.
        container["env"] = [{"name": k, "value": str(v)} for k, v in sorted(env.items())]
    config = {
        "container_config": container,
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
