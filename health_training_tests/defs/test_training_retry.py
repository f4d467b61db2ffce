"""A training run killed mid-way is retried (the asset's RetryPolicy, or a re-execution) and
resumes from its latest checkpoint instead of starting over."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import orjson
import pytest

from health_training.assets.model import lora_adapter
from health_training.data import layout
from health_training.data.config import SplitPolicy
from health_training.data.dataset import build_training_dataset
from health_training.data.records import Example, content_key
from health_training.resources import CarbonResource, LocalStorage, MlflowResource, TrainingResource

pytestmark = pytest.mark.slow

RUN = """
import sys, dagster as dg
from health_training.assets.model import lora_adapter
from health_training.resources import CarbonResource, LocalStorage, MlflowResource, TrainingResource
home = sys.argv[1]
res = {{"storage": LocalStorage(root=home + "/lake"), "training": TrainingResource(home=home),
        "mlflow": MlflowResource(tracking_uri=f"sqlite:///{{home}}/m.db", artifact_location=home + "/a"),
        "carbon": CarbonResource()}}
dg.materialize([lora_adapter], resources=res, run_config={config})
"""
CONFIG = {"ops": {"lora_adapter": {"config": {"base_model": "tiny-random", "max_steps": 40}}}}


def _examples(n: int) -> list[Example]:
    out = []
    for i in range(n):
        ins, inp, outp = (
            "Summarize my day.",
            f"Mean {100 + i} mg/dL.",
            f"Your mean was {100 + i} mg/dL.",
        )
        out.append(
            Example(
                ins,
                inp,
                outp,
                {
                    "content_key": content_key(ins, inp, outp),
                    "training_category": "metabolic_diabetes",
                },
            )
        )
    return out


def test_killed_training_resumes_from_checkpoint(tmp_path):
    from health_training.ml.tiny import build_tiny_model

    home = tmp_path
    build_tiny_model(home / "models" / "tiny-random")
    storage = LocalStorage(root=str(home / "lake"))
    ds = build_training_dataset({"2025-01": _examples(300)}, SplitPolicy())
    for name, data in ds.files.items():
        storage.write_bytes(layout.dataset_split(ds.version, name), data)
    storage.write_bytes(layout.dataset_manifest(ds.version), orjson.dumps(ds.manifest))
    storage.write_bytes(layout.CURRENT_DATASET, orjson.dumps({"version": ds.version}))

    script = tmp_path / "run.py"
    script.write_text(RUN.format(config=repr(CONFIG)))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    try:
        while not list((home / "training").glob("*/checkpoints/checkpoint-*/trainer_state.json")):
            assert proc.poll() is None, "the training process ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.2)
    finally:
        proc.kill()  # SIGKILL: no cleanup, as when a machine or pod dies
        proc.wait()
    killed_at = max(
        int(p.name.split("-")[1]) for p in (home / "training").glob("*/checkpoints/checkpoint-*")
    )

    res = {
        "storage": storage,
        "training": TrainingResource(home=str(home)),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{home}/m.db", artifact_location=str(home / "a")
        ),
        "carbon": CarbonResource(),
    }
    result = dg.materialize([lora_adapter], resources=res, run_config=CONFIG)
    meta = {
        k: v.value
        for k, v in result.asset_materializations_for_node("lora_adapter")[0].metadata.items()
    }
    assert meta["resumed_from"] == f"checkpoint-{killed_at}"
    assert meta["steps"] > killed_at
    latest = json.loads((home / "training" / "latest.json").read_text())
    assert (Path(latest["run_dir"]) / "adapter" / "adapter_config.json").exists()
    assert (
        lora_adapter.op.retry_policy is not None and lora_adapter.op.retry_policy.max_retries >= 1
    )
