"""`GpuK8sRunLauncher`: Kubernetes runs, with GPU runs on GPU nodes in the GPU image.

dagster-k8s's `K8sRunLauncher` reads a run's pod settings from its `dagster-k8s/config` *run* tag
only. `train_and_register` carries the GPU tag as a run tag, but a `lora_adapter` materialized
from the UI runs in the implicit asset job with no run tags at all (its GPU tag is an op tag), so
it would train in a 1-CPU pod of the CPU image. This launcher finds both the way
`GpuPoolRunLauncher` does (run tag, else the selected ops' tags), writes the `k8s_run_tags(...)`
of its `gpu_run` config onto the run (visible in the UI, and what `K8sRunLauncher` then applies),
and launches as usual. A run that already has a `dagster-k8s/config` tag keeps it.

In the Helm values (deploy/helm/values.yaml), as the chart's `CustomRunLauncher`:

    module: health_training.launcher
    class: GpuK8sRunLauncher
    config:
      ...every K8sRunLauncher field, as the chart would render them...
      gpu_run:
        image: registry.example.com/health-training:gpu
        cpu: "8"
        memory: 60Gi
        gpu_type: NVIDIA-L4          # optional: nvidia.com/gpu.product node selector
        profile: balanced            # HEALTH_TRAINING_PROFILE in GPU pods only
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.launcher import LaunchRunContext
from dagster_k8s import K8sRunLauncher
from dagster_k8s.job import DagsterK8sJobConfig

from health_training.constants import GPU_TAG
from health_training.launcher.cloud import K8S_CONFIG_TAG, k8s_run_tags
from health_training.launcher.gpu_pool import gpus_of_ops, gpus_requested

GPU_RUN_CONFIG = {
    "image": dg.Field(str, description="The GPU image (docker/Dockerfile.gpu) for GPU runs."),
    "cpu": dg.Field(str, default_value="8", description="CPU request and limit of a GPU pod."),
    "memory": dg.Field(str, default_value="60Gi", description="Memory of a GPU pod."),
    "gpu_type": dg.Field(
        str, is_required=False, description="nvidia.com/gpu.product of the nodes to use."
    ),
    "profile": dg.Field(
        str,
        is_required=False,
        description="HEALTH_TRAINING_PROFILE in GPU pods (the ConfigMap's is the CPU one).",
    ),
}


class GpuK8sRunLauncher(K8sRunLauncher):
    """K8sRunLauncher that puts runs asking for GPUs (run or op tag) on GPU nodes."""

    def __init__(self, gpu_run: Mapping[str, Any] | None = None, gpu_tag: str = GPU_TAG, **kw):
        self.gpu_run = dict(gpu_run or {})
        self.gpu_tag = gpu_tag
        super().__init__(**kw)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            **DagsterK8sJobConfig.config_type_run_launcher(),
            "gpu_run": dg.Field(
                dg.Shape(GPU_RUN_CONFIG),
                is_required=False,
                description="Pod settings of GPU runs; without it GPU runs launch as any other.",
            ),
            "gpu_tag": dg.Field(str, default_value=GPU_TAG, description="The GPU run/op tag."),
        }

    def gpu_tags(self, run: dg.DagsterRun) -> dict[str, str]:
        """The `dagster-k8s/config` tag `run` should carry: empty for a CPU run, a run that set
        its own, or when no `gpu_run` is configured."""
        if not self.gpu_run or K8S_CONFIG_TAG in run.tags:
            return {}
        count = gpus_requested(run.tags, self.gpu_tag) or gpus_of_ops(
            self._instance, run, self.gpu_tag
        )
        if count == 0:
            return {}
        cfg = self.gpu_run
        profile = cfg.get("profile")
        return k8s_run_tags(
            count,
            cpu=cfg.get("cpu", "8"),
            memory=cfg.get("memory", "60Gi"),
            gpu_type=cfg.get("gpu_type"),
            image=cfg["image"],
            env={"HEALTH_TRAINING_PROFILE": profile} if profile else None,
        )

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        tags = self.gpu_tags(run)
        if tags:
            # On the run itself, not only in the Job: the UI shows where it went, and a resumed
            # or re-executed run reads the same tag.
            self._instance.add_run_tags(run.run_id, tags)
            run = self._instance.get_run_by_id(run.run_id) or run
            context = LaunchRunContext(dagster_run=run, workspace=context.workspace)
        super().launch_run(context)
