"""`fine_tune` end to end: the real `openai` client against `FakeOpenAI`, a real MLflow (SQLite in
tmp_path). The happy path up to a registered pyfunc that predicts through the server, a failed
job, an interrupt right after creation, a stopped run."""

from __future__ import annotations

import pytest

from health_training.data.openai_chat import DEFAULT_SYSTEM_PROMPT, PRICE_TABLE_VERSION
from health_training.ml import openai as oft
from health_training_tests.ml.openai.fake_openai import CHECKPOINT_METRICS, FakeOpenAI
from health_training_tests.ml.openai.support import (
    COUNT,
    DATASHEET,
    HAPPY,
    MODEL,
    TRAIN,
    VALIDATION,
    client,
    only_run,
    registry_for,
    request,
    run,
)


@pytest.mark.slow
def test_happy_path_records_registers_and_predicts(names: dict[str, str]) -> None:
    import mlflow

    logs: list[str] = []
    with FakeOpenAI(HAPPY, trained_tokens=5000) as api:
        result = run(api, names, logs)

        uploads = [body for method, path, body in api.requests if path == "/v1/files"]
        assert [(u["purpose"], u["filename"], u["file"]) for u in uploads] == [
            ("fine-tune", "train.jsonl", TRAIN),
            ("fine-tune", "validation.jsonl", VALIDATION),
        ]
        create = next(b for m, p, b in api.requests if p == "/v1/fine_tuning/jobs")
        assert create["_auth"] == "Bearer test" and "hyperparameters" not in create
        assert create["method"] == {
            "type": "supervised",
            "supervised": {
                "hyperparameters": {
                    "n_epochs": 2,
                    "batch_size": "auto",
                    "learning_rate_multiplier": 0.5,
                }
            },
        }
        assert (create["training_file"], create["validation_file"]) == ("file-1", "file-2")
        assert create["suffix"] == "health-query" and api.cancelled == []

        # The registered pyfunc holds no weights and asks the fake server.
        name = names["registered_model"]
        model = mlflow.pyfunc.load_model(f"models:/{name}@staging", model_config={"api_key": "k"})
        answer = model.predict([{"instruction": "Summarize my glucose.", "input": "Mean 142"}])
        chat = [b for m, p, b in api.requests if p == "/v1/chat/completions"][-1]

    ft_model = f"ft:{MODEL}:org-test:health-query:abc123"
    assert result.fine_tuned_model == ft_model and result.job_id == "ftjob-1"
    assert answer == [f"{ft_model} | Summarize my glucose.\n\nMean 142"]
    assert chat["_auth"] == "Bearer k"
    assert chat["messages"][0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}
    assert "job ftjob-1: paused_for_review (unknown status, still waiting)" in logs

    cost = result.cost
    assert cost.trained_tokens == 5000 and cost.actual_usd == pytest.approx(0.015)
    assert cost.estimated_usd == result.preflight.estimated_cost_usd > 0
    assert cost.ratio == pytest.approx(cost.actual_usd / cost.estimated_usd)

    mlflow_client = mlflow.MlflowClient()
    mlflow_run = mlflow_client.get_run(result.run_id)
    assert mlflow_run.info.status == "FINISHED"
    tags = mlflow_run.data.tags
    assert tags["provider"] == "openai" and tags["openai.job_id"] == "ftjob-1"
    assert tags["openai.model"] == MODEL and tags["openai.fine_tuned_model"] == ft_model
    assert tags["datasheet.redaction"] == DATASHEET.redaction
    assert tags["dataset_version"] == "v-test"
    assert mlflow_run.data.params["price_table_version"] == PRICE_TABLE_VERSION
    assert mlflow_run.data.params["hp.n_epochs"] == "2"
    history = mlflow_client.get_metric_history(result.run_id, "checkpoint.valid_loss")
    assert [(m.step, m.value) for m in history] == [
        (m["step"], m["valid_loss"]) for m in CHECKPOINT_METRICS
    ]
    assert len(mlflow_client.get_metric_history(result.run_id, "train_loss")) == 4
    assert mlflow_run.data.metrics["cost_usd"] == pytest.approx(0.015)
    assert mlflow_run.data.metrics["cost_ratio"] == pytest.approx(cost.ratio)
    artifacts = {a.path for a in mlflow_client.list_artifacts(result.run_id, "openai")}
    assert artifacts == {"openai/events.jsonl", "openai/checkpoints.json"}
    datasheet = mlflow.artifacts.load_dict(f"{mlflow_run.info.artifact_uri}/datasheet.json")
    assert datasheet == DATASHEET.to_dict()

    mv = mlflow_client.get_model_version_by_alias(name, "staging")
    assert str(mv.version) == result.version and mv.run_id == result.run_id
    assert mv.tags["provider"] == "openai" and mv.tags["openai.job_id"] == "ftjob-1"
    assert mv.tags["openai.model"] == MODEL

    # Serving unpickles the class by its module path, the one module here that imports MLflow.
    assert type(model.unwrap_python_model()).__module__ == "health_training.ml.openai.pyfunc"


def test_a_failed_job_raises_naming_job_and_error(names: dict[str, str]) -> None:
    import mlflow

    error = {
        "code": "invalid_training_file",
        "message": "Training file has too few examples",
        "param": "training_file",
    }
    with FakeOpenAI(["validating_files", "failed"], error=error) as api:
        with pytest.raises(oft.JobFailed) as info:
            run(api, names)
        assert api.cancelled == []
    assert str(info.value) == (
        "OpenAI fine-tuning job ftjob-1 failed: invalid_training_file: "
        "Training file has too few examples (param: training_file)"
    )
    mlflow_run = only_run(names["experiment"])
    assert mlflow_run.info.status == "FAILED" and mlflow_run.data.tags["openai.status"] == "failed"
    assert mlflow_run.data.tags["error"].startswith(
        "JobFailed: OpenAI fine-tuning job ftjob-1 failed"
    )
    versions = mlflow.MlflowClient().search_model_versions(f"name='{names['registered_model']}'")
    assert versions == []


@pytest.mark.slow
def test_an_interrupt_right_after_creation_still_cancels(names: dict[str, str]) -> None:
    def log(message: str) -> None:
        if message.startswith("created OpenAI fine-tuning job"):
            raise KeyboardInterrupt  # before any poll loop is watching the job

    with FakeOpenAI(["running"]) as api:
        with pytest.raises(KeyboardInterrupt):
            oft.fine_tune(
                client(api),
                TRAIN,
                None,
                DATASHEET,
                request(experiment=names["experiment"]),
                registry=registry_for(names),
                count_tokens=COUNT,
                tokenizer_name="approximate",
                log=log,
            )
        assert api.cancelled == ["ftjob-1"] and api.polls == 0
    mlflow_run = only_run(names["experiment"])
    assert mlflow_run.info.status == "KILLED"
    assert mlflow_run.data.tags["error"] == "KeyboardInterrupt: "


def test_a_stopped_fine_tune_ends_its_mlflow_run_as_killed(names: dict[str, str]) -> None:
    with FakeOpenAI(["running"]) as api:
        with pytest.raises(oft.JobCancelled):
            run(api, names, should_stop=lambda: api.polls >= 2)
        assert api.cancelled == ["ftjob-1"]
    mlflow_run = only_run(names["experiment"])
    assert mlflow_run.info.status == "KILLED" and mlflow_run.data.tags["openai.job_id"] == "ftjob-1"
