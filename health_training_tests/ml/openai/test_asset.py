"""The `openai_fine_tuned_model` asset over the provider: the export of the dataset version its
upstream recorded, a datasheet it refuses when incomplete, and run termination cancelling the job.
The upstream (`openai_chat_dataset`) is stood in for by a recorded materialization."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import orjson
import pytest

from health_training.data import layout
from health_training.data.openai_chat import PRICE_TABLE_VERSION, analyze, to_jsonl
from health_training.defs.training.openai_provider import openai_fine_tuned_model
from health_training.resources import LocalStorage, MlflowResource, OpenAIResource
from health_training_tests.ml.openai.fake_openai import FakeOpenAI
from health_training_tests.ml.openai.support import COUNT, HAPPY, chats

SHEET = "source: ETL journals\nlicense: internal\nredaction: Safe Harbor\nintended_use: demo\n"
VERSION = "v-test"


@pytest.fixture(scope="module")
def mlflow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-asset")  # its own DB: the asset registers "asset"


def _lake(tmp_path: Path) -> LocalStorage:
    """What openai_chat_dataset leaves behind for one version: JSONL splits and the report."""
    storage = LocalStorage(root=str(tmp_path / "lake"))
    report = {}
    for split, examples in (("train", chats(12)), ("validation", chats(3, start=100))):
        storage.write_bytes(layout.openai_split(VERSION, split), to_jsonl(examples))
        report[split] = analyze(examples, COUNT, tokenizer_name="approximate").to_dict()
    storage.write_bytes(layout.openai_report(VERSION), orjson.dumps(report))
    return storage


def _materialize(
    tmp_path: Path,
    api: FakeOpenAI,
    datasheet: str,
    mlflow_root: Path,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    (tmp_path / "datasheet.yaml").write_text(datasheet)
    instance = instance or dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(
        dg.AssetMaterialization("openai_chat_dataset", metadata={"dataset_version": VERSION})
    )
    return dg.materialize(
        [openai_fine_tuned_model],
        resources={
            "storage": _lake(tmp_path),
            "mlflow": MlflowResource(
                tracking_uri=f"sqlite:///{mlflow_root / 'mlflow.db'}",
                artifact_location=str(mlflow_root / "artifacts"),
                experiment="asset",
                model_name="asset",
            ),
            "openai": OpenAIResource(
                base_url=api.base_url,
                api_key="test",
                poll_interval_s=0.005,
                max_poll_interval_s=0.02,
                deadline_s=10,
                max_retries=0,
            ),
        },
        run_config={
            "ops": {
                "openai_fine_tuned_model": {
                    "config": {"datasheet": str(tmp_path / "datasheet.yaml"), "n_epochs": 2}
                }
            }
        },
        instance=instance,
        raise_on_error=False,
    )


@pytest.mark.slow
def test_asset_fine_tunes_the_upstream_export(tmp_path: Path, mlflow_root: Path) -> None:
    import mlflow

    with FakeOpenAI(HAPPY) as api:
        result = _materialize(tmp_path, api, SHEET, mlflow_root)
        assert result.success
        uploaded = [b["file"] for m, p, b in api.requests if p == "/v1/files"]
    assert uploaded == [to_jsonl(chats(12)), to_jsonl(chats(3, start=100))]
    [mat] = result.asset_materializations_for_node("openai_fine_tuned_model")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["job_id"] == "ftjob-1" and meta["fine_tuned_model"].startswith("ft:gpt-4o-mini")
    assert (meta["version"], meta["alias"], meta["dataset_version"]) == ("1", "staging", VERSION)
    assert meta["trained_tokens"] == 4200 and meta["price_table_version"] == PRICE_TABLE_VERSION
    assert meta["n_epochs"] == 2 and meta["cost_ratio"] > 0

    uri = f"sqlite:///{mlflow_root / 'mlflow.db'}"
    run = mlflow.MlflowClient(uri, uri).get_run(meta["mlflow_run_id"])
    assert run.data.tags["dagster_run_id"] == result.run_id
    assert run.data.tags["datasheet.source"] == "ETL journals"


def test_asset_refuses_an_incomplete_datasheet(tmp_path: Path, mlflow_root: Path) -> None:
    with FakeOpenAI(HAPPY) as api:
        result = _materialize(tmp_path, api, SHEET.replace("Safe Harbor", "''"), mlflow_root)
        assert not result.success and api.requests == []
    [failure] = result.get_step_failure_events()
    assert "empty ['redaction']" in failure.step_failure_data.error.message


@pytest.mark.slow
def test_terminating_the_dagster_run_cancels_the_job(tmp_path: Path, mlflow_root: Path) -> None:
    """A termination request marks the run CANCELING; the asset's should_stop sees it."""
    instance = dg.DagsterInstance.ephemeral()

    def terminate_on_third_poll(polls: int) -> None:
        if polls == 3:
            [run] = instance.get_runs()
            instance.report_run_canceling(run)

    with FakeOpenAI(["running"], on_poll=terminate_on_third_poll) as api:
        result = _materialize(tmp_path, api, SHEET, mlflow_root, instance)
        assert not result.success and api.cancelled == ["ftjob-1"]
    [failure] = result.get_step_failure_events()
    assert "ftjob-1 cancelled: the run was stopped" in failure.step_failure_data.error.message
