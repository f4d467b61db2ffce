"""`lora_adapter` materialized alone, the way the UI does it (the implicit asset job, no run tags),
through the GPU launcher of a real Dagster instance: it gets a device lease from its op tags, and
Terminate stops the training for good: CANCELED, no retry, no materialization, the lease freed.

CPU only: the pool is one fake device; the training is the tiny model's, long enough that the test
terminates it once its run log shows a training step (an event, not a clock).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import orjson
import pytest

from health_training.data import layout
from health_training.data.config import SplitPolicy
from health_training.data.dataset import build_training_dataset
from health_training.launcher import DEVICES_TAG, GPU_TAG
from health_training.resources import LocalStorage
from health_training_tests.defs.test_training_retry import _examples
from health_training_tests.events import wait_until
from health_training_tests.launcher.dagster_env import DagsterEnv, dagster_env

pytestmark = pytest.mark.slow

# The code location: lora_adapter alone, with resources under the test's home.
TRAINING_PY = """
import os
import dagster as dg
from health_training.defs.training.adapter import lora_adapter
from health_training.resources import CarbonResource, LocalStorage, MlflowResource, TrainingResource

home = os.environ["TRAIN_TEST_HOME"]
defs = dg.Definitions(
    assets=[lora_adapter],
    resources={
        "storage": LocalStorage(root=home + "/lake"),
        "training": TrainingResource(home=home),
        "mlflow": MlflowResource(tracking_uri=f"sqlite:///{home}/m.db", artifact_location=home + "/a"),
        "carbon": CarbonResource(),
    },
    executor=dg.in_process_executor,
)
"""
# Far more steps than the test lets it run: it is terminated once it trains.
RUN_CONFIG = {"ops": {"lora_adapter": {"config": {"base_model": "tiny-random", "max_steps": 5000}}}}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterEnv]:
    from health_training.ml.lm.tiny import build_tiny_model

    home = tmp_path / "train"
    build_tiny_model(home / "models" / "tiny-random")
    storage = LocalStorage(root=str(home / "lake"))
    dataset = build_training_dataset({"2025-01": _examples(300)}, SplitPolicy())
    for name, data in dataset.files.items():
        storage.write_bytes(layout.dataset_split(dataset.version, name), data)
    storage.write_bytes(layout.dataset_manifest(dataset.version), orjson.dumps(dataset.manifest))
    monkeypatch.setenv("TRAIN_TEST_HOME", str(home))
    (tmp_path / "dagster").mkdir()
    with dagster_env(tmp_path / "dagster", devices=("0",), jobs_py=TRAINING_PY) as env:
        # lora_adapter trains on the version training_dataset's materialization names.
        env.instance.report_runless_asset_event(
            dg.AssetMaterialization("training_dataset", metadata={"version": dataset.version})
        )
        try:
            yield env
        finally:  # a failed test must not leave a training running on the machine
            for run in env.instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                env.launcher.terminate(run.run_id)


def _training_steps(env: DagsterEnv, run_id: str) -> list[str]:
    """The run log's progress lines ("step 3/5000: loss ..."): training is under way."""
    return [
        e.user_message for e in env.instance.all_logs(run_id) if e.user_message.startswith("step ")
    ]


def test_ui_materialized_training_gets_a_lease_and_terminate_cancels_it(env: DagsterEnv) -> None:
    run_id = env.create_run(
        {},
        job_name="__ASSET_JOB",
        run_config=RUN_CONFIG,
        asset_selection={dg.AssetKey("lora_adapter")},
    )
    assert GPU_TAG not in env.get_run(run_id).tags  # the UI adds no run tag: the op tag decides
    env.launch(run_id)
    run = env.wait_for(run_id, {"STARTED"})
    device = run.tags[DEVICES_TAG]
    assert device == "0" and not env.device_is_free(device)

    wait_until(
        lambda: _training_steps(env, run_id), "the first training step", timeout=600, poll=0.2
    )
    assert env.launcher.terminate(run_id)
    env.wait_for(run_id, {"CANCELED"})
    env.wait_holder_gone(run_id)
    assert env.device_is_free(device)

    events = [e.dagster_event for e in env.instance.all_logs(run_id) if e.dagster_event]
    kinds = {e.event_type_value for e in events}
    assert "STEP_UP_FOR_RETRY" not in kinds and "STEP_RESTARTED" not in kinds
    assert "ASSET_MATERIALIZATION" not in kinds
    assert env.instance.get_latest_materialization_event(dg.AssetKey("lora_adapter")) is None
