"""Hand-offs go through the asset graph and the storage resource, never a pointer file:
three pods with empty local disks train, evaluate and register one adapter through S3; two
overlapping trainings each evaluate and register their own adapter; a sensor's retrain that
makes a new dataset version leaves every downstream asset materializable."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from health_training.resources.storage_s3 import S3Storage
from health_training.stores.review_queue import ReviewQueue
from health_training_tests.defs.handoff_env import POD, pod_args, prepare_data, resources

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _pod(tmp_path: Path, name: str, assets: list[str], **shared: str) -> None:
    script = tmp_path / "pod.py"
    script.write_text(POD)
    home = tmp_path / f"pod-{name}"
    args = pod_args(assets=assets, home=str(home), **shared)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(script), args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"pod {name} failed:\n{done.stderr[-4000:]}"
    # Each pod started with an empty cache: whatever it has, it fetched itself.


def test_three_pods_hand_off_through_s3(tmp_path, s3_endpoint):
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    storage = S3Storage(
        bucket=bucket,
        prefix="lake",
        s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"),
    )
    shared, dagster_home = tmp_path / "shared", tmp_path / "dagster"
    shared.mkdir()
    dagster_home.mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(dagster_home))
    prepare_data(storage, instance, resources(storage, tmp_path / "data-pod", shared))
    common = {"bucket": bucket, "endpoint": s3_endpoint, "shared": str(shared),
              "dagster_home": str(dagster_home)}  # fmt: skip
    _pod(tmp_path, "train", ["lora_adapter"], **common)
    _pod(tmp_path, "evaluate", ["eval_report", "emissions_report"], **common)
    _pod(tmp_path, "register", ["registered_model"], **common)

    adapter = instance.fetch_materializations(dg.AssetKey("lora_adapter"), limit=1).records[0]
    identity = adapter.asset_materialization.metadata["run_identity"].value
    registered = instance.fetch_materializations(dg.AssetKey("registered_model"), limit=1)
    meta = registered.records[0].asset_materialization.metadata
    assert meta["run_identity"].value == identity
    # The registered model's adapter is the one the training pod wrote to S3, byte for byte.
    from health_training.ml.registry.tracking import Registry

    registry = Registry(f"sqlite:///{shared / 'mlflow.db'}", str(shared / "artifacts"))
    local, _ = registry.download_adapter(str(meta["version"].value), tmp_path / "check")
    weights = f"models/runs/{identity}/adapter/adapter_model.safetensors"
    assert (local / "adapter_model.safetensors").read_bytes() == storage.read_bytes(weights)
    # The evaluation pod never trained: its cache holds the adapter it downloaded, no checkpoint.
    assert not list((tmp_path / "pod-evaluate").rglob("checkpoint-*"))
    assert (tmp_path / "pod-evaluate" / "training" / identity / "adapter").is_dir()


def test_a_sensor_retrain_keeps_every_downstream_asset_materializable(tmp_path):
    from health_training.data.feedback import FeedbackRecord
    from health_training.data.phi import Pseudonymizer
    from health_training.defs import data, registry, training
    from health_training.defs.automation.jobs import training_job
    from health_training.defs.automation.sensors import feedback_threshold_sensor
    from health_training.defs.data.narratives import curated_narratives, raw_narratives
    from health_training.etl.generator import generate_corpus
    from health_training.resources import LocalStorage, OpenAIResource
    from health_training_tests.defs.handoff_env import run_config
    from health_training_tests.ml.openai.fake_openai import FakeOpenAI
    from health_training_tests.ml.openai.support import HAPPY

    storage = LocalStorage(root=str(tmp_path / "lake"))
    (tmp_path / "shared").mkdir()
    res = resources(storage, tmp_path / "pod", tmp_path / "shared")
    instance = dg.DagsterInstance.ephemeral()
    first_version = prepare_data(storage, instance, res)
    for key, blob in generate_corpus([(2025, 2)], 4, 6, phi_note_share=0.0).files.items():
        storage.write_bytes(key, blob)
    monthly = [raw_narratives, curated_narratives]
    assert dg.materialize(
        monthly, resources=res, instance=instance, partition_key="2025-02"
    ).success

    # Poor ratings with corrections: the feedback sensor asks for a retrain.
    store = res["feedback"].store()
    records = [
        FeedbackRecord(
            query=f"How was my sleep on night {i}?",
            response="You slept 7 h.",
            rating=1,
            model_version="1",
            user_id="user_0001",
            corrected_response=f"You slept 6 h {i} min, under the 7-9 h adults need.",
        )
        for i in range(25)
    ]
    store.add_many(records, Pseudonymizer(b"k" * 32))
    queue = ReviewQueue(store)  # a reviewer approves them: only approved corrections train
    for row in queue.pending(limit=100):
        queue.decide(row.id, approve=True, by="operator", reason="checked against the chart")
    context = dg.build_sensor_context(instance=instance, resources={"feedback": res["feedback"]})
    request = feedback_threshold_sensor(context)
    assert isinstance(request, dg.RunRequest), request

    defs = dg.Definitions.merge(
        data.defs,
        training.defs,
        registry.defs,
        dg.Definitions(jobs=[training_job], resources={**res, "openai": OpenAIResource()}),
    )
    selected = [
        "feedback_examples", "training_dataset", "openai_chat_dataset", *MODEL_ASSETS,
    ]  # fmt: skip
    retrain = defs.resolve_job_def("train_and_register").execute_in_process(
        instance=instance, tags=request.tags, run_config=run_config(selected)
    )
    assert retrain.success
    [mat] = retrain.asset_materializations_for_node("training_dataset")
    new_version = mat.metadata["version"].value
    assert new_version != first_version  # the corrections and February made a new version
    [export] = retrain.asset_materializations_for_node("openai_chat_dataset")
    assert export.metadata["dataset_version"].value == new_version
    [trained] = retrain.asset_materializations_for_node("lora_adapter")
    assert trained.metadata["dataset_version"].value == new_version
    assert trained.metadata["reason"].value == "feedback_threshold"

    # The OpenAI provider, the asset downstream of the export, still materializes on it.
    (tmp_path / "sheet.yaml").write_text(
        "source: ETL journals\nlicense: internal\nredaction: Safe Harbor\nintended_use: demo\n"
    )
    with FakeOpenAI(HAPPY) as api:
        openai = OpenAIResource(
            base_url=api.base_url, api_key="k", poll_interval_s=0.005, max_poll_interval_s=0.02
        )
        provider = defs.get_assets_def("openai_fine_tuned_model")
        result = dg.materialize(
            [provider],
            resources={**res, "openai": openai},
            instance=instance,
            run_config={
                "ops": {
                    "openai_fine_tuned_model": {
                        "config": {"datasheet": str(tmp_path / "sheet.yaml")}
                    }
                }
            },
        )
    assert result.success
    [done] = result.asset_materializations_for_node("openai_fine_tuned_model")
    assert done.metadata["dataset_version"].value == new_version


MODEL_ASSETS = ["lora_adapter", "eval_report", "emissions_report", "registered_model"]
