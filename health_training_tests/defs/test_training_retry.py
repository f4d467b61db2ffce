"""A training run killed mid-way resumes from its latest checkpoint instead of starting over,
even in a new pod: the checkpoint is read back from the storage resource after the local run
folder is gone."""

from __future__ import annotations

import shutil
import subprocess
import sys

import dagster as dg
import orjson
import pytest

from health_training.data import layout
from health_training.data.config import SplitPolicy
from health_training.data.dataset import build_training_dataset
from health_training.data.records import Example, content_key
from health_training.defs.training.adapter import lora_adapter
from health_training.resources import CarbonResource, LocalStorage, MlflowResource, TrainingResource
from health_training_tests.events import wait_until

pytestmark = pytest.mark.slow

RUN = """
import sys, dagster as dg
from health_training.defs.training.adapter import lora_adapter
from health_training.resources import CarbonResource, LocalStorage, MlflowResource, TrainingResource
home = sys.argv[1]
res = {{"storage": LocalStorage(root=home + "/lake"), "training": TrainingResource(home=home),
        "mlflow": MlflowResource(tracking_uri=f"sqlite:///{{home}}/m.db", artifact_location=home + "/a"),
        "carbon": CarbonResource()}}
import os
os.makedirs(home + "/dagster", exist_ok=True)
instance = dg.DagsterInstance.local_temp(tempdir=home + "/dagster")
dg.materialize([lora_adapter], resources=res, run_config={config}, instance=instance)
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
    from health_training.ml.lm.tiny import build_tiny_model

    home = tmp_path
    build_tiny_model(home / "models" / "tiny-random")
    storage = LocalStorage(root=str(home / "lake"))
    ds = build_training_dataset({"2025-01": _examples(300)}, SplitPolicy())
    for name, data in ds.files.items():
        storage.write_bytes(layout.dataset_split(ds.version, name), data)
    storage.write_bytes(layout.dataset_manifest(ds.version), orjson.dumps(ds.manifest))
    # lora_adapter trains on the version training_dataset's materialization names.
    (home / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(home / "dagster"))
    instance.report_runless_asset_event(
        dg.AssetMaterialization("training_dataset", metadata={"version": ds.version})
    )

    script = tmp_path / "run.py"
    script.write_text(RUN.format(config=repr(CONFIG)))
    proc = subprocess.Popen(
        [sys.executable, str(script), str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def uploaded_checkpoint() -> list:
        found = list((home / "lake" / "models" / "runs").glob("*/checkpoints/*/UPLOADED"))
        assert found or proc.poll() is None, "the training process ended before a checkpoint"
        return found

    try:
        # Wait for a checkpoint that reached storage whole (its marker is written last).
        wait_until(uploaded_checkpoint, "a checkpoint uploaded by the training process", 240)
    finally:
        proc.kill()  # SIGKILL: no cleanup, as when a machine or pod dies
        proc.wait()
    killed_at = max(
        int(p.parent.name.split("-")[1])
        for p in (home / "lake" / "models" / "runs").glob("*/checkpoints/*/UPLOADED")
    )
    # A new pod: nothing of the run on local disk, only what the storage resource holds.
    for run_dir in (home / "training").iterdir():
        if run_dir.is_dir() and (run_dir / "checkpoints").exists():
            shutil.rmtree(run_dir)

    res = {
        "storage": storage,
        "training": TrainingResource(home=str(home)),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{home}/m.db", artifact_location=str(home / "a")
        ),
        "carbon": CarbonResource(),
    }
    result = dg.materialize([lora_adapter], resources=res, run_config=CONFIG, instance=instance)
    meta = {
        k: v.value
        for k, v in result.asset_materializations_for_node("lora_adapter")[0].metadata.items()
    }
    assert meta["resumed_from"] == f"checkpoint-{killed_at}"
    assert meta["steps"] > killed_at
    assert storage.exists(f"{meta['run_storage_key']}/adapter/adapter_config.json")
    assert meta["dataset_version"] == ds.version
