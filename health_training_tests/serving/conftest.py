"""The model server's fixtures: the tiny test model, LoRA adapters on it registered in a real
MLflow (SQLite + local artifacts in tmp), a feedback store, and servers started on 127.0.0.1 in a
background thread, called over HTTP by the `openai` client."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL = "health-query-olmo"
PSEUDONYM_KEY = b"serving-tests-key-" * 2
# Keys are at least 32 characters (shorter ones stop the server's start); the secret keys HMACs.
ADMIN_KEY = "admin-secret-key-of-the-serving-tests-000"
SERVER_SECRET = b"serving-tests-server-secret-" * 2
# Plain HTTP calls wait as long as the openai client does: a loaded machine is slow, not broken
# (the first feedback post loads the PHI engine's NER model).
HTTP = httpx.Client(timeout=300)
API_KEY = "query-secret-key-of-the-serving-tests-000"
OTHER_KEY = "other-tenant-key-of-the-serving-tests-00"


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    from health_training.ml.lm.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-random")


def make_adapter(base: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter with random B matrices (init_lora_weights=False), so each seed answers
    visibly differently from the base and from the other seeds."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base)
    torch.manual_seed(seed)
    lora = LoraConfig(
        r=4,
        lora_alpha=64,  # large: the tiny random model's answers change, not just its logits
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        init_lora_weights=False,
        task_type="CAUSAL_LM",
    )
    get_peft_model(model, lora).save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def adapters(tiny_base, tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("adapters")
    return {seed: make_adapter(tiny_base, root / f"seed{seed}", seed) for seed in (1, 2)}


def register(mlflow: Any, adapter: Path, base: Path, *, kg: float = 0.001) -> str:
    """Log a training run with emissions figures and the adapter (base bundled), register it:
    the new version gets `staging`, as registered_model does."""
    registry = mlflow.registry()
    run_id = registry.start_training_run(
        params={"lora_r": 4},
        tags={"reason": "manual", "base_model": str(base), "dataset_manifest_hash": "ds-test"},
    )
    registry.log_step_metrics(run_id, {"kg_co2eq": kg, "energy_kwh": kg * 3}, step=1)
    uri = registry.log_adapter_model(
        run_id,
        adapter,
        base_model=str(base),
        base_revision=None,
        base_dir=base,
        bundle_base=True,
        max_new_tokens=8,
    )
    registry.finish_run(run_id)
    return registry.register(uri, tags={"reason": "manual"})


@dataclass
class Stack:
    """Everything a server of one test uses, rooted in its tmp folder."""

    root: Path
    mlflow: Any
    feedback: Any  # FeedbackResource
    base: Path

    def settings(self, **overrides: Any) -> Any:
        from health_training.serving.settings import ServingSettings

        fields: dict[str, Any] = {
            "model_name": MODEL,
            "base_model": str(self.base),
            "models_dir": self.root / "models",
            "work_dir": self.root / "serving",
            "max_new_tokens": 24,
            "alias_poll_s": 0.2,
        }
        return ServingSettings(**(fields | overrides))

    def keyed(self, *, key_file: str | None = None, **overrides: Any) -> Any:
        """Settings with API_KEY (plain: all scopes but admin, tenant default), ADMIN_KEY and
        the keys of `key_file` (YAML text)."""
        from health_training.serving.http.keys import keys_from_config

        keys = keys_from_config(
            SERVER_SECRET, plain=[API_KEY], admin=ADMIN_KEY, key_file_text=key_file
        )
        return self.settings(keys=keys, key_secret=SERVER_SECRET, **overrides)

    def app(self, settings: Any = None, **kwargs: Any) -> Any:
        from health_training.data.phi import Pseudonymizer
        from health_training.resources import LocalStorage
        from health_training.serving.http.app import create_app

        return create_app(
            settings or self.settings(),
            mlflow=self.mlflow,
            feedback_store=self.feedback.store(),
            pseudonymize=Pseudonymizer(PSEUDONYM_KEY),
            storage=LocalStorage(root=str(self.root / "lake")),
            **kwargs,
        )


def make_stack(root: Path, base: Path) -> Stack:
    from health_training.resources import FeedbackResource, MlflowResource

    mlflow = MlflowResource(
        tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        artifact_location=str(root / "artifacts"),
        model_name=MODEL,
    )
    feedback = FeedbackResource(url=f"sqlite:///{root / 'feedback.db'}")
    return Stack(root, mlflow, feedback, base)


@pytest.fixture
def stack(tmp_path, tiny_base) -> Stack:
    return make_stack(tmp_path, tiny_base)


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory, tiny_base) -> Stack:
    """One stack for a module's tests that only read (a new MLflow database costs seconds)."""
    return make_stack(tmp_path_factory.mktemp("stack"), tiny_base)


def serving_version(url: str) -> str | None:
    return HTTP.get(f"{url}/health").json().get("version")


@pytest.fixture
def two_versions(stack, adapters) -> Stack:
    """v1 in production, v2 in staging (the state after a retrain, before approval)."""
    from health_training.ml.registry.version_gate import promote_recorded

    assert register(stack.mlflow, adapters[1], stack.base) == "1"
    promote_recorded(stack.mlflow.registry(), "1", approved_by="test", reason="first model")
    assert register(stack.mlflow, adapters[2], stack.base, kg=0.002) == "2"
    return stack
