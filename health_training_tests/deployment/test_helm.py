"""deploy/helm: the values' keys exist in the Dagster chart's schema (and Kubernetes objects in
them are valid), and the Job that dagster-k8s builds for a GPU training run from our run tags, with
the launcher configured as the chart renders these values, is a valid Job on GPU nodes."""

from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from unittest import mock

import pytest
import yaml

# The names deploy/ and docker/ document: the launcher package re-exports them.
from health_training.launcher import GPU_TAG, K8S_CONFIG_TAG, k8s_run_tags
from health_training_tests.deployment.common import (
    DEPLOY,
    K8S_VERSION,
    kubernetes_validate,
    load_yaml,
)

CHART_K8S_REF = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json#/definitions/"


def _k8s_errors(value, definition: str) -> list[str]:
    """Errors of `value` as the Kubernetes type the chart's schema refers to (strict schemas)."""
    import jsonschema
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    folder = f"kubernetes-json-schema/v{K8S_VERSION}-local-strict"
    defs = schema_contents(f"{folder}/_definitions.json", K8S_VERSION)
    registry = Registry().with_resource(defs["$id"], Resource.from_contents(defs))
    schema = {"$ref": f"{defs['$id']}#/$defs/{definition}"}
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [e.message for e in validator.iter_errors(value)]


def chart_errors(value, node: dict, schema: dict, path: str = "values") -> list[str]:
    """Where `value` leaves the chart's schema. Unlike the chart, an unknown key is an error
    wherever the schema lists properties (the templates would silently ignore it). `required`
    is not checked: the chart's own values.yaml supplies those defaults."""
    ref = node.get("$ref", "")
    if ref.startswith("#/definitions/"):
        return chart_errors(value, schema["definitions"][ref.rsplit("/", 1)[1]], schema, path)
    if ref.startswith(CHART_K8S_REF):
        return [f"{path}: {e}" for e in _k8s_errors(value, ref.removeprefix(CHART_K8S_REF))]
    if "anyOf" in node:
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        # A value that is set is judged by the non-null branches only (else "is not null" wins).
        options = [o for o in node["anyOf"] if value is None or o.get("type") != "null"]
        tries = [chart_errors(value, {**rest, **o}, schema, path) for o in options]
        return [] if not all(tries) else min(tries, key=len)
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    expected = node.get("type")
    if expected == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return [f"{path}: {value!r} is not an integer"]
    if expected in kinds and not isinstance(value, kinds[expected]):
        return [f"{path}: {value!r} is not {expected}"]
    if "enum" in node and value not in node["enum"]:
        return [f"{path}: {value!r} is not one of {node['enum']}"]
    errors: list[str] = []
    if isinstance(value, dict):
        props, extra = node.get("properties") or {}, node.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                errors += chart_errors(item, props[key], schema, f"{path}.{key}")
            elif isinstance(extra, dict):
                errors += chart_errors(item, extra, schema, f"{path}.{key}")
            elif props or extra is False:
                errors.append(f"{path}: unknown key {key!r}")
    if isinstance(value, list) and "items" in node:
        for i, item in enumerate(value):
            errors += chart_errors(item, node["items"], schema, f"{path}[{i}]")
    return errors


@pytest.fixture(scope="module")
def chart_schema() -> dict:
    return json.loads((DEPLOY / "helm" / "dagster-chart-values.schema.json").read_text())


def test_helm_values_fit_the_chart_schema(chart_schema: dict):
    values = load_yaml(DEPLOY / "helm" / "values.yaml")
    assert chart_errors(values, chart_schema, chart_schema) == []


def test_chart_schema_check_rejects_broken_values(chart_schema: dict):
    values = load_yaml(DEPLOY / "helm" / "values.yaml")
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    launcher["envSecret"] = launcher.pop("envSecrets")  # a chart key misspelt
    launcher["volumeMounts"][0]["mountpath"] = launcher["volumeMounts"][0].pop("mountPath")
    values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"][
        "tagConcurrencyLimits"
    ][0]["limit"] = "2"
    errors = "\n".join(chart_errors(values, chart_schema, chart_schema))
    assert "unknown key 'envSecret'" in errors
    assert "mountpath" in errors  # from the Kubernetes VolumeMount schema
    assert "'2' is not an integer" in errors


def k8s_launcher_from_values(values: dict, kubeconfig: Path, batch_api):
    """K8sRunLauncher configured as the chart's _run-launcher.tpl renders these values."""
    from dagster_k8s import K8sRunLauncher

    cfg = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_k8s = {
        re.sub(r"([A-Z])", r"_\1", key).lower(): value
        for key, value in (cfg.get("runK8sConfig") or {}).items()
    }
    return K8sRunLauncher(
        load_incluster_config=False,  # the chart says true; here a kubeconfig with no cluster
        kubeconfig_file=str(kubeconfig),
        job_namespace=cfg["jobNamespace"],
        image_pull_policy=cfg["imagePullPolicy"],
        service_account_name="dagster",
        dagster_home="/opt/dagster/dagster_home",
        instance_config_map="dagster-instance",
        postgres_password_secret=values["global"]["postgresqlSecretName"],
        env_config_maps=[m["name"] for m in cfg["envConfigMaps"]],
        env_secrets=[s["name"] for s in cfg["envSecrets"]],
        env_vars=cfg["envVars"],
        volume_mounts=cfg["volumeMounts"],
        volumes=cfg["volumes"],
        labels=cfg["labels"],
        fail_pod_on_run_failure=cfg["failPodOnRunFailure"],
        resources=cfg["resources"],
        security_context=cfg["securityContext"],
        run_k8s_config=run_k8s,
        k8s_client_batch_api=batch_api,
        k8s_client_core_api=mock.MagicMock(),
    )


def with_image(tags: dict[str, str], image: str) -> dict[str, str]:
    """The GPU image in the `dagster-k8s/config` tag (k8s_run_tags has no parameter for it yet)."""
    config = json.loads(tags[K8S_CONFIG_TAG])
    config["container_config"]["image"] = image
    return {**tags, K8S_CONFIG_TAG: json.dumps(config)}


@pytest.mark.parametrize("gpus", [1, 4])
def test_gpu_training_run_becomes_a_valid_job(gpus: int, tmp_path: Path):
    pytest.importorskip("dagster_k8s", reason="pip install dagster-k8s==0.29.27 (dev extra)")
    import dagster as dg
    import kubernetes

    # No public API builds a code origin that carries a container image and context (what the
    # chart's user deployment gives runs), or the context a run launcher is called with.
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.launcher import LaunchRunContext
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin

    values = load_yaml(DEPLOY / "helm" / "values.yaml")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "none"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    batch_api = mock.MagicMock()
    launcher = k8s_launcher_from_values(values, kubeconfig, batch_api)
    # The code location as the chart's user deployment passes it to runs.
    deployment = values["dagster-user-deployments"]["deployments"][0]
    location = RepositoryPythonOrigin(
        executable_path="/opt/venv/bin/python",
        code_pointer=ModuleCodePointer("health_training.definitions", "defs", None),
        container_image=f"{deployment['image']['repository']}:{deployment['image']['tag']}",
        container_context={
            "k8s": {
                "env_config_maps": [m["name"] for m in deployment["envConfigMaps"]],
                "env_secrets": [s["name"] for s in deployment["envSecrets"]],
            }
        },
    )
    gpu_image = "registry.example.com/health-training:gpu"
    tags = with_image(
        {GPU_TAG: str(gpus), **k8s_run_tags(gpus, cpu="8", memory="60Gi", gpu_type="NVIDIA-L4")},
        gpu_image,
    )
    with dg.instance_for_test() as instance:
        launcher.register_instance(instance)
        run = instance.add_run(
            dg.DagsterRun(
                job_name="train_and_register",
                run_id=str(uuid.uuid4()),
                tags=tags,
                job_code_origin=JobPythonOrigin("train_and_register", location),
            )
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    call = batch_api.create_namespaced_job.call_args
    assert call.kwargs["namespace"] == "health-training"
    job = kubernetes.client.ApiClient().sanitize_for_serialization(call.kwargs["body"])
    kubernetes_validate().validate(job, K8S_VERSION, strict=True)

    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == gpu_image
    assert container["resources"]["limits"] == {
        "nvidia.com/gpu": str(gpus),
        "cpu": "8",
        "memory": "60Gi",
    }
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert pod["securityContext"]["runAsNonRoot"] is True  # runK8sConfig, merged with the tag
    assert {"configMapRef": {"name": "health-training-env"}} in container["envFrom"]
    assert {"mountPath": "/data", "name": "cache"} in container["volumeMounts"]
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400

    broken = copy.deepcopy(job)
    broken["spec"]["template"]["spec"]["tolerations"][0]["effect"] = 7
    with pytest.raises(kubernetes_validate().ValidationError):
        kubernetes_validate().validate(broken, K8S_VERSION, strict=True)
