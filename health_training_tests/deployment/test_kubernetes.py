"""deploy/k8s: every manifest passes kubernetes-validate (strict) for K8S_VERSION, a broken one
is rejected, the kustomization applies every manifest, and Postgres is initialised by the same
script as in the compose stack."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from health_training_tests.deployment.common import (
    DEPLOY,
    DOCKER,
    K8S_VERSION,
    kubernetes_validate,
    load_yaml,
)

MANIFESTS = sorted(p for p in (DEPLOY / "k8s").rglob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_is_valid_kubernetes(path: Path):
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert documents, f"{path} holds no resource"
    for document in documents:
        kubernetes_validate().validate(document, K8S_VERSION, strict=True)


def test_kubernetes_validation_rejects_a_broken_manifest():
    deployment = next(
        d
        for d in yaml.safe_load_all((DEPLOY / "k8s" / "30-mlflow.yaml").read_text())
        if d["kind"] == "Deployment"
    )
    broken = copy.deepcopy(deployment)
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate().ValidationError, match="readinesProbe"):
        kubernetes_validate().validate(broken, K8S_VERSION, strict=True)


def test_kustomization_applies_every_top_level_manifest():
    listed = set(load_yaml(DEPLOY / "k8s" / "kustomization.yaml")["resources"])
    on_disk = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_postgres_init_script_is_the_same_for_compose_and_kubernetes():
    config_map = next(yaml.safe_load_all((DEPLOY / "k8s" / "15-postgres.yaml").read_text()))
    script = (DOCKER / "postgres" / "init-databases.sh").read_text()
    assert config_map["data"]["10-databases.sh"] == script
