"""What the OpenAI provider tests share: a tiny chat export, a datasheet, fast polling, and
helpers that point the real `openai` client at a `FakeOpenAI` and a Registry at the test DB."""

from __future__ import annotations

from pathlib import Path

import openai

from health_training.data.chat_tokens import approximate_counter
from health_training.data.openai_chat import to_chat_example, to_jsonl
from health_training.ml import openai as oft
from health_training.ml.registry.tracking import Registry
from health_training_tests.ml.openai.fake_openai import FakeOpenAI

MODEL = "gpt-4o-mini-2024-07-18"
HAPPY = ["validating_files", "queued", "running", "paused_for_review", "succeeded"]
FAST = oft.PollPolicy(interval_s=0.005, max_interval_s=0.02, deadline_s=10.0)
DATASHEET = oft.Datasheet(
    source="synthetic ETL health journals, 2025-01",
    license="internal use only",
    redaction="HIPAA Safe Harbor scrub and an independent second scan",
    intended_use="explaining a person's own wearable measurements; not diagnosis",
)
COUNT = approximate_counter()


def chats(n: int, start: int = 0) -> list[dict]:
    return [
        to_chat_example(
            f"How stable was my glucose on day {i}?",
            f"Record type: BloodGlucoseRecord. Mean {100 + i} mg/dL.",
            f"Your glucose averaged {100 + i} mg/dL, within the target range.",
        )
        for i in range(start, start + n)
    ]


TRAIN, VALIDATION = to_jsonl(chats(12)), to_jsonl(chats(3, start=100))


def client(api: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=api.base_url, api_key="test", max_retries=0, timeout=5)


def registry_for(names: dict[str, str]) -> Registry:
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


def only_run(experiment: str):
    import mlflow

    mlflow_client = mlflow.MlflowClient()
    [run] = mlflow_client.search_runs(
        [mlflow_client.get_experiment_by_name(experiment).experiment_id]
    )
    return run


def request(**overrides) -> oft.FineTuneRequest:
    fields = {
        "model": MODEL,
        "hyperparameters": oft.Hyperparameters(n_epochs=2, learning_rate_multiplier=0.5),
        "poll": FAST,
        "tags": {"dataset_version": "v-test"},
    }
    return oft.FineTuneRequest(**{**fields, **overrides})


def run(
    api: FakeOpenAI, names: dict[str, str], logs: list[str] | None = None, **kwargs
) -> oft.FineTuneResult:
    """`fine_tune` on the tiny export against `api`, recorded in this test's experiment."""
    return oft.fine_tune(
        client(api),
        TRAIN,
        VALIDATION,
        kwargs.pop("datasheet", DATASHEET),
        request(base_url=api.base_url, experiment=names["experiment"]),
        registry=registry_for(names),
        count_tokens=COUNT,
        tokenizer_name="approximate",
        log=(logs if logs is not None else []).append,
        **kwargs,
    )


def create_job(api: FakeOpenAI) -> str:
    """A job on the fake API, created directly (no preflight, no MLflow)."""
    c = client(api)
    file_id = c.files.create(file=("t.jsonl", TRAIN), purpose="fine-tune").id
    return c.fine_tuning.jobs.create(model=MODEL, training_file=file_id).id
