"""Run tags for K8sRunLauncher / EcsRunLauncher: their shape, and what the launchers make of them."""

from __future__ import annotations

import json
from types import SimpleNamespace

import dagster as dg
import pytest

from health_training.launcher import K8S_CONFIG_TAG, ecs_run_tags, k8s_run_tags


def test_k8s_run_tags_shape() -> None:
    tags = k8s_run_tags(
        2,
        gpu_type="NVIDIA-H100-80GB-HBM3",
        node_selector={"pool": "gpu"},
        cpu="8",
        memory="32Gi",
    )
    assert list(tags) == [K8S_CONFIG_TAG] == ["dagster-k8s/config"]
    assert json.loads(tags[K8S_CONFIG_TAG]) == {
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
