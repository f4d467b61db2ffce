"""Tests for `health_training.ml.openai_finetune` and the `openai_fine_tuned_model` asset: the real
`openai` client against a fake fine-tuning API on 127.0.0.1 (fake_openai.py), a real MLflow
(SQLite in tmp_path), polling in milliseconds. Scenarios: the happy path up to a registered pyfunc
that predicts through the server, a failed job, the deadline, a stopped or interrupted run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import dagster as dg
import openai
import orjson
import pytest

from health_training.assets.openai_model import OpenAIResource, openai_fine_tuned_model
from health_training.data import layout
from health_training.data.openai_chat import (
    DEFAULT_SYSTEM_PROMPT,
    PRICE_TABLE_VERSION,
    analyze,
    approximate_counter,
    to_chat_example,
    to_jsonl,
)
from health_training.ml import openai_finetune as oft
from health_training.ml.registry import Registry
from health_training.resources import LocalStorage, MlflowResource
from health_training_tests.ml.fake_openai import CHECKPOINT_METRICS, FakeOpenAI

MODEL = "gpt-4o-mini-2024-07-18"
HAPPY = ["validating_files", "queued", "running", "paused_for_review", "succeeded"]
FAST = oft.PollPolicy(interval_s=0.005, max_interval_s=0.02, deadline_s=10.0)
DATASHEET = oft.Datasheet(
    source="synthetic ETL health journals, 2025-01",
    license="internal use only",
    redaction="HIPAA Safe Harbor scrub and an independent second scan",
    intended_use="explaining a person's own wearable measurements; not diagnosis",
)


def _chats(n: int, start: int = 0) -> list[dict]:
    return [
        to_chat_example(
            f"How stable was my glucose on day {i}?",
            f"Record type: BloodGlucoseRecord. Mean {100 + i} mg/dL.",
            f"Your glucose averaged {100 + i} mg/dL, within the target range.",
        )
        for i in range(start, start + n)
    ]


TRAIN, VALIDATION = to_jsonl(_chats(12)), to_jsonl(_chats(3, start=100))
COUNT = approximate_counter()


def _client(api: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.base_url, api_key="test", max_retries=0, timeout=5)


@pytest.fixture(scope="module")
def mlflow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow")  # creating the SQLite schema takes seconds: once


@pytest.fixture
def names(mlflow_root: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """The shared DB, with an experiment and a registered model of this test's own."""
    import mlflow

    uri = f"sqlite:///{mlflow_root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)  # the tests' own fluent calls (load_model) read it
    mlflow.set_registry_uri(uri)
    name = request.node.name.removeprefix("test_")[:60]
    return {"experiment": name, "registered_model": name}


def _registry_for(names: dict[str, str]) -> Registry:
    """A Registry on the shared DB (the `names` fixture pointed MLflow's global URI at it)."""
    import mlflow

    uri = mlflow.get_tracking_uri()
    root = Path(uri.removeprefix("sqlite:///")).parent
    return Registry(
        uri,
        str(root / "artifacts"),
        experiment=names["experiment"],
        model_name=names["registered_model"],
    )


def _client_of(mlflow_root: Path):
    import mlflow

    uri = f"sqlite:///{mlflow_root / 'mlflow.db'}"
    return mlflow.MlflowClient(uri, uri)


def _only_run(experiment: str):
    import mlflow

    client = mlflow.MlflowClient()
    [run] = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return run


def _request(**overrides) -> oft.FineTuneRequest:
    fields = {
        "model": MODEL,
        "hyperparameters": oft.Hyperparameters(n_epochs=2, learning_rate_multiplier=0.5),
        "poll": FAST,
        "tags": {"dataset_version": "v-test"},
    }
    return oft.FineTuneRequest(**{**fields, **overrides})


def _run(
    api: FakeOpenAI, names: dict[str, str], logs: list[str] | None = None, **kwargs
) -> oft.FineTuneResult:
    return oft.fine_tune(
        _client(api),
        TRAIN,
        VALIDATION,
        kwargs.pop("datasheet", DATASHEET),
        _request(base_url=api.base_url, experiment=names["experiment"]),
        registry=_registry_for(names),
        count_tokens=COUNT,
        tokenizer_name="approximate",
        log=(logs if logs is not None else []).append,
        **kwargs,
    )


# ------------------------------------------------------------------ pure parts


def test_datasheet_loads_from_yaml_and_json(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        "source: ETL journals  # where from\nlicense: internal\nredaction: Safe Harbor scrub\n"
        "intended_use: wearable explanations\ncontact: data-team@example.org\n"
    )
    fields = {k: getattr(DATASHEET, k) for k in oft.DATASHEET_FIELDS}
    (tmp_path / "d.json").write_text(json.dumps(fields))
    from_yaml = oft.load_datasheet(tmp_path / "d.yaml")
    assert from_yaml.source == "ETL journals" and from_yaml.extra == {
        "contact": "data-team@example.org"
    }
    assert from_yaml.tags()["datasheet.redaction"] == "Safe Harbor scrub"
    assert oft.load_datasheet(tmp_path / "d.json") == DATASHEET


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read the datasheet"),
        ("- just a list\n", "a datasheet is a mapping"),
        ("source: x\nlicense: y\nredaction: z\n", "missing ['intended_use']"),
        ("source: x\nlicense: y\nredaction: '  '\nintended_use: w\n", "empty ['redaction']"),
    ],
)
def test_datasheet_refuses_missing_or_empty_fields(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "datasheet.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(oft.DatasheetError, match=r"datasheet\.yaml") as info:
        oft.load_datasheet(path)
    assert message in str(info.value)
    with pytest.raises(oft.DatasheetError, match="empty"):
        oft.Datasheet(source="x", license="", redaction="z", intended_use="w")


def test_poll_intervals_back_off_exponentially_up_to_the_cap() -> None:
    intervals = oft.PollPolicy(interval_s=1, max_interval_s=5, backoff=2).intervals()
    assert [next(intervals) for _ in range(5)] == [1, 2, 4, 5, 5]


def test_preflight_prices_the_training_file_with_the_versioned_table() -> None:
    auto = oft.preflight(
        TRAIN,
        VALIDATION,
        model=MODEL,
        hyperparameters=oft.Hyperparameters(),
        count_tokens=COUNT,
        tokenizer_name="approximate",
    )
    cookbook = analyze(_chats(12), COUNT, tokenizer_name="approximate", price_model=MODEL)
    assert auto.n_epochs == cookbook.n_epochs == 8  # 12 examples: the API's default is 100 // 12
    assert auto.estimated_cost_usd == cookbook.estimated_cost_usd
    assert auto.validation is not None and auto.validation.n_examples == 3
    assert auto.system_prompt == DEFAULT_SYSTEM_PROMPT
    two = oft.preflight(
        TRAIN,
        None,
        model=MODEL,
        hyperparameters=oft.Hyperparameters(n_epochs=2),
        count_tokens=COUNT,
        tokenizer_name="approximate",
    )
    assert two.estimated_training_tokens == 2 * cookbook.billing_tokens
    assert math.isclose(two.estimated_cost_usd, 2 * cookbook.billing_tokens * 3.0 / 1e6)


@pytest.mark.parametrize(
    ("train", "model", "error", "message"),
    [
        (
            to_jsonl([*_chats(2), {"messages": [{"role": "user", "content": "hi"}]}]),
            MODEL,
            oft.FineTuneError,
            "train.jsonl: format errors {'example_missing_assistant_message': 1}",
        ),
        (TRAIN[:40] + b"\n" + TRAIN, MODEL, oft.FineTuneError, "train.jsonl:1: not JSON"),
        (TRAIN, "gpt-5-unpriced", ValueError, "not in PRICE_TABLE"),
    ],
)
def test_bad_exports_and_unpriced_models_are_refused_before_any_upload(
    train: bytes, model: str, error: type[Exception], message: str
) -> None:
    with FakeOpenAI(HAPPY) as api:
        with pytest.raises(error) as info:
            oft.fine_tune(
                _client(api),
                train,
                None,
                DATASHEET,
                _request(model=model),
                registry=Registry("sqlite:///:memory:"),  # refused before MLflow is touched
                count_tokens=COUNT,
                tokenizer_name="approximate",
            )
        assert message in str(info.value)
        assert api.requests == []


def test_no_datasheet_no_job() -> None:
    with FakeOpenAI(HAPPY) as api:
        with pytest.raises(oft.DatasheetError, match="redaction"):
            _run(api, {"experiment": "none", "registered_model": "none"}, datasheet=None)
        assert api.requests == []


@pytest.mark.parametrize(
    ("trained", "estimated", "ratio"), [(4000, 0.006, 2.0), (0, 0.0, None), (1000, 0.003, 1.0)]
)
def test_actual_cost_against_the_estimate(
    trained: int, estimated: float, ratio: float | None
) -> None:
    cost = oft.actual_cost(trained, MODEL, estimated)
    assert (
        cost.actual_usd == trained * 3.0 / 1e6 and cost.price_table_version == PRICE_TABLE_VERSION
    )
    assert cost.difference_usd == round(cost.actual_usd - estimated, 6)
    assert cost.ratio == (None if ratio is None else pytest.approx(ratio))


# ------------------------------------------------------------------ polling


def _job(api: FakeOpenAI) -> str:
    client = _client(api)
    file_id = client.files.create(file=("t.jsonl", TRAIN), purpose="fine-tune").id
    return client.fine_tuning.jobs.create(model=MODEL, training_file=file_id).id


def test_unknown_states_and_server_errors_mean_keep_polling() -> None:
    logs: list[str] = []
    with FakeOpenAI(HAPPY, fail_gets=2) as api:
        job = oft.wait_for_job(_client(api), _job(api), FAST, log=logs.append)
    assert job.status == "succeeded" and api.cancelled == []
    assert "job ftjob-1: paused_for_review (unknown status, still waiting)" in logs
    assert sum("poll failed (InternalServerError" in line for line in logs) == 2
    assert "job ftjob-1 [info] Fine-tuning job started" in logs


def test_deadline_cancels_the_job_and_says_so() -> None:
    with FakeOpenAI(["running"]) as api:
        job_id = _job(api)
        with pytest.raises(oft.JobDeadlineExceeded) as info:
            oft.wait_for_job(
                _client(api), job_id, oft.PollPolicy(0.005, 0.02, deadline_s=0.2), log=[].append
            )
        assert api.cancelled == [job_id]
    assert str(info.value).startswith(
        "OpenAI fine-tuning job ftjob-1 did not finish within 0.2 s (last status: running); "
        "it was cancelled."
    )


def test_a_stopped_run_cancels_the_job() -> None:
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 3

    with FakeOpenAI(["running"]) as api:
        job_id = _job(api)
        with pytest.raises(oft.JobCancelled, match="ftjob-1 cancelled: the run was stopped"):
            oft.wait_for_job(_client(api), job_id, FAST, should_stop=should_stop, log=[].append)
        assert api.cancelled == [job_id] and api.polls == 3


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, dg.DagsterExecutionInterruptedError])
@pytest.mark.parametrize("where", ["should_stop", "sleep"])
def test_an_interrupt_cancels_the_job_and_propagates(
    interrupt: type[BaseException], where: str
) -> None:
    """Dagster turns run termination into DagsterExecutionInterruptedError inside the step."""
    polls: list[int] = []

    def after_two(*_: object) -> bool:
        polls.append(1)
        if len(polls) > 2:
            raise interrupt()
        return False

    hooks = {"should_stop": after_two} if where == "should_stop" else {"sleep": after_two}
    with FakeOpenAI(["running"]) as api:
        job_id = _job(api)
        with pytest.raises(interrupt):
            oft.wait_for_job(_client(api), job_id, FAST, log=[].append, **hooks)
        assert api.cancelled == [job_id]


# ------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_happy_path_records_registers_and_predicts(names: dict[str, str]) -> None:
    import mlflow

    logs: list[str] = []
    with FakeOpenAI(HAPPY, trained_tokens=5000) as api:
        result = _run(api, names, logs)

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
    run = mlflow_client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["provider"] == "openai" and tags["openai.job_id"] == "ftjob-1"
    assert tags["openai.model"] == MODEL and tags["openai.fine_tuned_model"] == ft_model
    assert tags["datasheet.redaction"] == DATASHEET.redaction
    assert tags["dataset_version"] == "v-test"
    assert run.data.params["price_table_version"] == PRICE_TABLE_VERSION
    assert run.data.params["hp.n_epochs"] == "2"
    history = mlflow_client.get_metric_history(result.run_id, "checkpoint.valid_loss")
    assert [(m.step, m.value) for m in history] == [
        (m["step"], m["valid_loss"]) for m in CHECKPOINT_METRICS
    ]
    assert len(mlflow_client.get_metric_history(result.run_id, "train_loss")) == 4
    assert run.data.metrics["cost_usd"] == pytest.approx(0.015)
    assert run.data.metrics["cost_ratio"] == pytest.approx(cost.ratio)
    artifacts = {a.path for a in mlflow_client.list_artifacts(result.run_id, "openai")}
    assert artifacts == {"openai/events.jsonl", "openai/checkpoints.json"}
    datasheet = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/datasheet.json")
    assert datasheet == DATASHEET.to_dict()

    mv = mlflow_client.get_model_version_by_alias(name, "staging")
    assert str(mv.version) == result.version and mv.run_id == result.run_id
    assert mv.tags["provider"] == "openai" and mv.tags["openai.job_id"] == "ftjob-1"
    assert mv.tags["openai.model"] == MODEL


def test_a_failed_job_raises_naming_job_and_error(names: dict[str, str]) -> None:
    error = {
        "code": "invalid_training_file",
        "message": "Training file has too few examples",
        "param": "training_file",
    }
    with FakeOpenAI(["validating_files", "failed"], error=error) as api:
        with pytest.raises(oft.JobFailed) as info:
            _run(api, names)
        assert api.cancelled == []
    assert str(info.value) == (
        "OpenAI fine-tuning job ftjob-1 failed: invalid_training_file: "
        "Training file has too few examples (param: training_file)"
    )
    run = _only_run(names["experiment"])
    assert run.info.status == "FAILED" and run.data.tags["openai.status"] == "failed"
    assert run.data.tags["error"].startswith("JobFailed: OpenAI fine-tuning job ftjob-1 failed")
    import mlflow

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
                _client(api),
                TRAIN,
                None,
                DATASHEET,
                _request(experiment=names["experiment"]),
                registry=_registry_for(names),
                count_tokens=COUNT,
                tokenizer_name="approximate",
                log=log,
            )
        assert api.cancelled == ["ftjob-1"] and api.polls == 0
    run = _only_run(names["experiment"])
    assert run.info.status == "KILLED" and run.data.tags["error"] == "KeyboardInterrupt: "


def test_a_stopped_fine_tune_ends_its_mlflow_run_as_killed(names: dict[str, str]) -> None:
    with FakeOpenAI(["running"]) as api:
        with pytest.raises(oft.JobCancelled):
            _run(api, names, should_stop=lambda: api.polls >= 2)
        assert api.cancelled == ["ftjob-1"]
    run = _only_run(names["experiment"])
    assert run.info.status == "KILLED" and run.data.tags["openai.job_id"] == "ftjob-1"


# ------------------------------------------------------------------ Dagster


def _lake(tmp_path: Path) -> LocalStorage:
    """What openai_chat_dataset leaves behind: the current version, JSONL splits and report."""
    storage = LocalStorage(root=str(tmp_path / "lake"))
    version = "v-test"
    storage.write_bytes(layout.CURRENT_DATASET, orjson.dumps({"version": version}))
    report = {}
    for split, chats in (("train", _chats(12)), ("validation", _chats(3, start=100))):
        storage.write_bytes(layout.openai_split(version, split), to_jsonl(chats))
        report[split] = analyze(chats, COUNT, tokenizer_name="approximate").to_dict()
    storage.write_bytes(layout.openai_report(version), orjson.dumps(report))
    return storage


def _materialize(
    tmp_path: Path,
    api: FakeOpenAI,
    datasheet: str,
    mlflow_root: Path,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    (tmp_path / "datasheet.yaml").write_text(datasheet)
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


SHEET = "source: ETL journals\nlicense: internal\nredaction: Safe Harbor\nintended_use: demo\n"


@pytest.mark.slow
def test_asset_fine_tunes_the_current_export(tmp_path: Path, mlflow_root: Path) -> None:
    with FakeOpenAI(HAPPY) as api:
        result = _materialize(tmp_path, api, SHEET, mlflow_root)
        assert result.success
        uploaded = [b["file"] for m, p, b in api.requests if p == "/v1/files"]
    assert uploaded == [to_jsonl(_chats(12)), to_jsonl(_chats(3, start=100))]
    [mat] = result.asset_materializations_for_node("openai_fine_tuned_model")
    meta = {k: v.value for k, v in mat.metadata.items()}
    assert meta["job_id"] == "ftjob-1" and meta["fine_tuned_model"].startswith("ft:gpt-4o-mini")
    assert (meta["version"], meta["alias"], meta["dataset_version"]) == ("1", "staging", "v-test")
    assert meta["trained_tokens"] == 4200 and meta["price_table_version"] == PRICE_TABLE_VERSION
    assert meta["n_epochs"] == 2 and meta["cost_ratio"] > 0

    run = _client_of(mlflow_root).get_run(meta["mlflow_run_id"])
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
