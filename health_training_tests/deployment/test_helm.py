"""deploy/helm: the values' keys exist in the Dagster chart's schema (and Kubernetes objects in
them are valid), and the Job that dagster-k8s builds for a GPU training run from our run tags, with
the launcher configured as the chart renders these values, is a valid Job on GPU nodes."""

from __future__ import annotations

import copy
import json
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
    user_code = values["dagster-user-deployments"]["deployments"][0]
    user_code["envSecret"] = user_code.pop("envSecrets")  # a chart key misspelt
    daemon = values["dagsterDaemon"]
    daemon["securityContext"] = {"runAsNonroot": True}  # a Kubernetes field misspelt
    daemon["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"][0][
        "limit"
    ] = "2"
    errors = "\n".join(chart_errors(values, chart_schema, chart_schema))
    assert "unknown key 'envSecret'" in errors
    assert "runAsNonroot" in errors  # from the Kubernetes SecurityContext schema
    assert "'2' is not an integer" in errors


# What the chart's configmap-instance.yaml renders of dagsterDaemon.runMonitoring (chart 1.13):
# any other key passes the schema (a free object there) and is silently dropped.
RUN_MONITORING_RENDERED = {"enabled", "startTimeoutSeconds", "pollIntervalSeconds"} | {
    "maxResumeRunAttempts"
}


def test_only_rendered_run_monitoring_keys():
    values = load_yaml(DEPLOY / "helm" / "values.yaml")
    assert set(values["dagsterDaemon"]["runMonitoring"]) <= RUN_MONITORING_RENDERED


def test_gpu_launcher_config_is_what_the_launcher_accepts():
    """The CustomRunLauncher config is handed to the class verbatim: Dagster's own config check
    of it, as the instance does on start, accepts it (a misspelt field would stop the daemon)."""
    pytest.importorskip("dagster_k8s", reason="pip install dagster-k8s==0.29.27 (dev extra)")
    from dagster._config import process_config

    from health_training.launcher.k8s import GpuK8sRunLauncher

    custom = load_yaml(DEPLOY / "helm" / "values.yaml")["runLauncher"]["config"][
        "customRunLauncher"
    ]
    assert (custom["module"], custom["class"]) == ("health_training.launcher", "GpuK8sRunLauncher")
    result = process_config(GpuK8sRunLauncher.config_type(), custom["config"])
    assert result.success, result.errors
    broken = {**custom["config"], "env_secret": custom["config"]["env_secrets"]}
    assert not process_config(GpuK8sRunLauncher.config_type(), broken).success


def test_cpu_profile_fits_the_cpu_pod_and_the_server_knows_dagster():
    """Runs without a GPU load the ConfigMap's profile in the launcher's CPU pod: it must be the
    small one (OLMo-7B in 8 GiB is out of memory); the model server starts runs on the webserver."""
    config = load_yaml(DEPLOY / "k8s" / "10-config.yaml")
    assert config["data"]["HEALTH_TRAINING_PROFILE"] == "cpu_demo"
    launcher = load_yaml(DEPLOY / "helm" / "values.yaml")["runLauncher"]["config"]
    assert launcher["customRunLauncher"]["config"]["resources"]["limits"]["memory"] == "8Gi"
    assert launcher["customRunLauncher"]["config"]["gpu_run"]["profile"] != "cpu_demo"
    documents = yaml.safe_load_all((DEPLOY / "k8s" / "40-model-server.yaml").read_text())
    server = next(d for d in documents if d["kind"] == "Deployment")
    command = server["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--dagster") + 1] == "dagster-dagster-webserver:80"


def gpu_launcher_from_values(values: dict, kubeconfig: Path, batch_api):
    """GpuK8sRunLauncher with the values' CustomRunLauncher config, as the instance builds it;
    only the cluster connection is swapped for a kubeconfig with no cluster and a mock API."""
    from dagster._config import process_config

    from health_training.launcher.k8s import GpuK8sRunLauncher

    config = values["runLauncher"]["config"]["customRunLauncher"]["config"]
    processed = process_config(GpuK8sRunLauncher.config_type(), config)
    assert processed.success, processed.errors
    return GpuK8sRunLauncher(
        **{**processed.value, "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)},
        k8s_client_batch_api=batch_api,
        k8s_client_core_api=mock.MagicMock(),
    )


@pytest.mark.parametrize("started_by", ["train_and_register", "ui_lora_adapter", "data"])
def test_gpu_training_run_becomes_a_valid_job(started_by: str, tmp_path: Path):
    """train_and_register (GPU run tag) and lora_adapter materialized from the UI (the implicit
    asset job: no run tags, the GPU op tag) both become GPU Jobs; a data run stays a CPU Job."""
    pytest.importorskip("dagster_k8s", reason="pip install dagster-k8s==0.29.27 (dev extra)")
    import dagster as dg
    import kubernetes

    # No public API builds a code origin that carries a container image and context (what the
    # chart's user deployment gives runs), or the context a run launcher is called with.
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.launcher import LaunchRunContext
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin

    from health_training.constants import training_tags
    from health_training.definitions import defs

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
    launcher = gpu_launcher_from_values(values, kubeconfig, batch_api)
    # The code location as the chart's user deployment passes it to runs.
    deployment = values["dagster-user-deployments"]["deployments"][0]
    cpu_image = f"{deployment['image']['repository']}:{deployment['image']['tag']}"
    location = RepositoryPythonOrigin(
        executable_path="/opt/venv/bin/python",
        code_pointer=ModuleCodePointer("health_training.definitions", "defs", None),
        container_image=cpu_image,
        container_context={
            "k8s": {
                "env_config_maps": [m["name"] for m in deployment["envConfigMaps"]],
                "env_secrets": [s["name"] for s in deployment["envSecrets"]],
            }
        },
    )
    if started_by == "train_and_register":
        job = defs.resolve_job_def("train_and_register")
        tags, selection = {**job.tags, **training_tags("manual")}, None
    elif started_by == "ui_lora_adapter":
        job = defs.resolve_implicit_global_asset_job_def()
        tags, selection = {}, {dg.AssetKey("lora_adapter")}
    else:
        job = defs.resolve_job_def("monthly_data")
        tags, selection = dict(job.tags), None
    gpu_run = values["runLauncher"]["config"]["customRunLauncher"]["config"]["gpu_run"]
    with dg.instance_for_test() as instance:
        launcher.register_instance(instance)
        snapshot = job.get_job_snapshot()
        instance.add_snapshot(snapshot)
        snapshot_id = snapshot.snapshot_id
        run = instance.add_run(
            dg.DagsterRun(
                job_name=job.name,
                run_id=str(uuid.uuid4()),
                tags=tags,
                asset_selection=frozenset(selection) if selection else None,
                job_snapshot_id=snapshot_id,
                job_code_origin=JobPythonOrigin(job.name, location),
            )
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
        stored_tags = instance.get_run_by_id(run.run_id).tags
    call = batch_api.create_namespaced_job.call_args
    assert call.kwargs["namespace"] == "health-training"
    k8s_job = kubernetes.client.ApiClient().sanitize_for_serialization(call.kwargs["body"])
    kubernetes_validate().validate(k8s_job, K8S_VERSION, strict=True)

    pod = k8s_job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"configMapRef": {"name": "health-training-env"}} in container["envFrom"]
    assert {"mountPath": "/data", "name": "cache"} in container["volumeMounts"]
    assert pod["securityContext"]["runAsNonRoot"] is True  # run_k8s_config, merged with the tag
    assert k8s_job["spec"]["ttlSecondsAfterFinished"] == 86400
    if started_by == "data":
        assert container["image"] == cpu_image and K8S_CONFIG_TAG not in stored_tags
        assert "nvidia.com/gpu" not in container["resources"]["limits"]
        return
    assert K8S_CONFIG_TAG in stored_tags  # the run carries it: the UI shows it
    assert container["image"] == gpu_run["image"]
    assert container["resources"]["limits"] == {
        "nvidia.com/gpu": "1",
        "cpu": gpu_run["cpu"],
        "memory": gpu_run["memory"],
    }
    assert {"name": "HEALTH_TRAINING_PROFILE", "value": gpu_run["profile"]} in container["env"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": gpu_run["gpu_type"]}

    broken = copy.deepcopy(k8s_job)
    broken["spec"]["template"]["spec"]["tolerations"][0]["effect"] = 7
    with pytest.raises(kubernetes_validate().ValidationError):
        kubernetes_validate().validate(broken, K8S_VERSION, strict=True)


def test_k8s_run_tags_carry_image_and_env():
    tags = k8s_run_tags(2, cpu="8", memory="60Gi", image="gpu:1", env={"A": "b"})
    container = json.loads(tags[K8S_CONFIG_TAG])["container_config"]
    assert container["image"] == "gpu:1" and container["env"] == [{"name": "A", "value": "b"}]
    assert GPU_TAG not in tags  # the GPU run tag is the job's (health_training.constants)
