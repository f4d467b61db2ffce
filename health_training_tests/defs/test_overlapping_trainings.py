"""Runs placed by the GPU launcher on a two-device fake pool, executing the real model plane:
two overlapping trainings each evaluate and register their own adapter, and `lora_adapter`
materialized alone (as the UI does, without our run tags) still gets a device lease.

The code location is a file that builds the platform's assets with test resources (tiny model,
local storage, SQLite MLflow) from paths in the environment; the runs go through the instance's
run launcher as the daemon would send them (private Dagster APIs confined to dagster_env.py).
"""

from __future__ import annotations

import contextlib
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from health_training.constants import GPU_TAG, REASON_TAG
from health_training.launcher import DEVICES_TAG, PID_TAG
from health_training.resources import LocalStorage
from health_training_tests.defs.handoff_env import prepare_data, resources, run_config
from health_training_tests.events import wait_until
from health_training_tests.launcher.dagster_env import DAGSTER_YAML, create_run

pytestmark = pytest.mark.slow
POOL = ("0", "1")
MODEL_ASSETS = ["lora_adapter", "eval_report", "emissions_report", "registered_model"]

LOCATION = """
import os
from pathlib import Path
import dagster as dg
from health_training.defs.registry.assets import registered_model
from health_training.defs.training.adapter import lora_adapter
from health_training.defs.training.emissions import emissions_report
from health_training.defs.training.eval_report import eval_report
from health_training.resources import LocalStorage
from health_training_tests.defs.handoff_env import resources

root = Path(os.environ["HANDOFF_ROOT"])
res = resources(LocalStorage(root=str(root / "lake")), root / "pod", root / "shared")
assets = [lora_adapter, eval_report, emissions_report, registered_model]
train = dg.define_asset_job("train", selection=assets, tags={"health_training/gpu": "1"})
defs = dg.Definitions(assets=assets, jobs=[train], resources=res, executor=dg.in_process_executor)
"""


class Env:
    def __init__(self, instance: dg.DagsterInstance, context) -> None:
        self.instance, self.context = instance, context

    def create_run(self, job_name: str, config: dict, tags: dict, assets=None) -> str:
        keys = {dg.AssetKey(a) for a in assets} if assets else None
        return create_run(self.instance, self.context, "handoffs", job_name, config, tags, keys)

    def launch(self, run_id: str) -> None:
        self.instance.launch_run(run_id, self.context.create_request_context())

    def finished(self, run_id: str) -> dg.DagsterRun:
        def done():
            run = self.instance.get_run_by_id(run_id)
            return run if run.status.value in ("SUCCESS", "FAILURE", "CANCELED") else None

        return wait_until(done, f"run {run_id} to finish", timeout=1200, poll=0.5)

    def materialization(self, run_id: str, asset: str) -> dict:
        records = self.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        for record in records:
            mat = record.event_log_entry.asset_materialization
            if mat.asset_key == dg.AssetKey(asset):
                return {k: v.value for k, v in mat.metadata.items()}
        raise AssertionError(f"run {run_id} did not materialize {asset}")


@contextlib.contextmanager
def launcher_env(root: Path) -> Iterator[Env]:
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import PythonFileTarget

    home = root / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    (root / "location.py").write_text(textwrap.dedent(LOCATION))
    (root / "shared").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(home))
        mp.setenv("HANDOFF_ROOT", str(root))
        mp.setenv("HEALTH_TRAINING_GPU_DEVICES", ",".join(POOL))
        mp.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
        mp.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        target = PythonFileTarget(
            python_file=str(root / "location.py"),
            attribute=None,
            working_directory=str(root),
            location_name="handoffs",
        )
        with (
            dg.DagsterInstance.get() as instance,
            WorkspaceProcessContext(instance, target) as context,
        ):
            env = Env(instance, context)
            storage = LocalStorage(root=str(root / "lake"))
            prepare_data(storage, instance, resources(storage, root / "data", root / "shared"))
            try:
                yield env
            finally:
                instance.run_launcher.join(timeout=120)


def test_two_overlapping_trainings_register_their_own_adapters(tmp_path):
    with launcher_env(tmp_path) as env:
        steps = {3: None, 4: None}
        for n in steps:
            config = run_config(MODEL_ASSETS)
            config["ops"]["lora_adapter"]["config"] = {"base_model": "tiny-random", "max_steps": n}
            steps[n] = env.create_run("train", config, {REASON_TAG: "manual"})
        for run_id in steps.values():  # both launched before either is waited for
            env.launch(run_id)
        runs = {n: env.finished(run_id) for n, run_id in steps.items()}
        assert all(r.status.value == "SUCCESS" for r in runs.values()), runs
        assert sorted(r.tags[DEVICES_TAG] for r in runs.values()) == list(POOL)
        identities = set()
        for n, run_id in steps.items():
            trained = env.materialization(run_id, "lora_adapter")
            assert trained["steps"] == n
            for asset in ("eval_report", "emissions_report", "registered_model"):
                assert env.materialization(run_id, asset)["run_identity"] == trained["run_identity"]
            identities.add(trained["run_identity"])
        assert len(identities) == 2  # two adapters, each evaluated and registered by its own run


def test_lora_adapter_alone_gets_a_device_like_a_tagged_run(tmp_path):
    with launcher_env(tmp_path) as env:
        config = run_config(["lora_adapter"])
        # The UI's "Materialize" on one asset: the implicit asset job, no run tags of ours.
        run_id = env.create_run("__ASSET_JOB", config, {}, assets=["lora_adapter"])
        assert GPU_TAG not in env.instance.get_run_by_id(run_id).tags
        env.launch(run_id)
        run = env.finished(run_id)
        assert run.status.value == "SUCCESS"
        assert run.tags[DEVICES_TAG] in POOL and PID_TAG in run.tags
        assert os.environ.get("CUDA_VISIBLE_DEVICES") is None  # only the run's process got one
