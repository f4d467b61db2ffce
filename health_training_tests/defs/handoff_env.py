"""Shared set-up of the hand-off tests: a data lake with one curated month and a training dataset
materialized on a persistent instance, and resources per "pod" (its own local cache)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg

from health_training.defs.data.datasets import openai_chat_dataset, training_dataset
from health_training.defs.data.feedback_examples import feedback_examples
from health_training.defs.data.narratives import curated_narratives, raw_narratives
from health_training.etl.generator import generate_corpus
from health_training.resources import (
    CarbonResource,
    FeedbackResource,
    JudgeResource,
    MlflowResource,
    PhiResource,
    TrainingResource,
)

KEY = "h" * 32
TRAIN = {"base_model": "tiny-random", "max_steps": 3}
EVAL = {"max_examples": 6}


def resources(storage: Any, home: Path, shared: Path) -> dict[str, Any]:
    """A pod's resources: shared storage, MLflow and feedback; `home` is its own local cache."""
    from health_training.ml.lm.tiny import build_tiny_model

    build_tiny_model(home / "models" / "tiny-random")  # the base model comes with the image
    return {
        "storage": storage,
        "phi": PhiResource(pseudonym_key=KEY),
        "training": TrainingResource(home=str(home), profile="cpu_demo"),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{shared / 'mlflow.db'}",
            artifact_location=str(shared / "artifacts"),
        ),
        "carbon": CarbonResource(country_iso_code="USA"),
        "judge": JudgeResource(),
        "feedback": FeedbackResource(url=f"sqlite:///{shared / 'feedback.db'}"),
    }


def prepare_data(storage: Any, instance: dg.DagsterInstance, res: dict[str, Any]) -> str:
    """One month ingested and curated, the dataset built; returns its version."""
    corpus = generate_corpus([(2025, 1)], 4, 5, phi_note_share=0.0, malformed_share=0.0)
    for key, data in corpus.files.items():
        storage.write_bytes(key, data)
    monthly = [raw_narratives, curated_narratives]
    assert dg.materialize(
        monthly, resources=res, instance=instance, partition_key="2025-01"
    ).success
    result = dg.materialize(
        [feedback_examples, training_dataset, openai_chat_dataset], resources=res, instance=instance
    )
    assert result.success
    [mat] = result.asset_materializations_for_node("training_dataset")
    return str(mat.metadata["version"].value)


def run_config(selected: list[str], **extra: dict) -> dict:
    """The tiny-model settings of the selected assets (a run may only configure its own ops)."""
    ops = {"lora_adapter": {"config": TRAIN}, "eval_report": {"config": EVAL}, **extra}
    return {"ops": {name: cfg for name, cfg in ops.items() if name in selected}}


# A pod: one process that materializes some assets against S3 with an empty local cache.
POD = """
import json, sys
import dagster as dg
from dagster_aws.s3 import S3Resource
from health_training.defs.registry.assets import registered_model
from health_training.defs.training.adapter import lora_adapter
from health_training.defs.training.emissions import emissions_report
from health_training.defs.training.eval_report import eval_report
from health_training.resources.storage_s3 import S3Storage
from health_training_tests.defs.handoff_env import resources, run_config
from pathlib import Path

args = json.loads(sys.argv[1])
storage = S3Storage(bucket=args["bucket"], prefix="lake",
                    s3=S3Resource(endpoint_url=args["endpoint"], region_name="us-east-1"))
res = resources(storage, Path(args["home"]), Path(args["shared"]))
assets = {a.key.to_user_string(): a for a in (lora_adapter, eval_report, emissions_report,
                                              registered_model)}
instance = dg.DagsterInstance.local_temp(tempdir=args["dagster_home"])
result = dg.materialize([assets[n] for n in args["assets"]], resources=res, instance=instance,
                        run_config=run_config(args["assets"]))
sys.exit(0 if result.success else 1)
"""


def pod_args(**values: Any) -> str:
    return json.dumps(values)
