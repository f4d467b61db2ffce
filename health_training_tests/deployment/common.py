"""What the deployment tests share: where the files are, the Kubernetes version they are checked
against, and the offline validators. Nothing here needs Docker or a cluster."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER, DEPLOY = ROOT / "docker", ROOT / "deploy"
K8S_VERSION = "1.33.0"  # the oldest minor we support; kubernetes-validate bundles its schemas


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def kubernetes_validate() -> ModuleType:
    """kubernetes-validate: offline JSON schemas of each Kubernetes version (dev extra)."""
    return pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
