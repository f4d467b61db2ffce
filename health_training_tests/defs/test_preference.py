"""Preference data in Dagster: the feedback sensor counts rated answers to learn from (threshold,
tags, no double fire), ratings posted over HTTP reach it, `preference_dataset` keeps test prompts
out of training, and `lora_adapter` runs the preference stage with that data version in its run
identity."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
import pytest

from health_training.constants import CORRECTION_COUNT_TAG, PREFERENCE_COUNT_TAG, REASON_TAG
from health_training.data import layout
from health_training.data.config import SplitPolicy
from health_training.data.dataset import build_training_dataset
from health_training.data.feedback import FeedbackRecord
from health_training.data.phi import Pseudonymizer
from health_training.data.retrain_triggers import automation_policy
from health_training.defs.automation.sensors import feedback_threshold_sensor
from health_training.defs.data.preference import preference_dataset
from health_training.defs.registry.assets import registered_model
from health_training.defs.training.adapter import lora_adapter
from health_training.defs.training.emissions import emissions_report
from health_training.defs.training.eval_report import eval_report
from health_training.ml.preference.examples import prompt_key
from health_training.ml.preference.feedback_client import (
    FeedbackClient,
    FeedbackPostError,
    ServedAnswer,
    rate_served,
)
from health_training.ml.preference.simulated_clinic import SimulatedClinic
from health_training.resources import (
    CarbonResource,
    FeedbackResource,
    JudgeResource,
    LocalStorage,
    MlflowResource,
    TrainingResource,
)
from health_training.stores.review_queue import ReviewQueue
from health_training_tests.tiny_training import glucose_examples

PSEUDO = Pseudonymizer(b"k" * 32)
_SEQ = iter(range(10**9))


@pytest.fixture
def feedback(tmp_path):
    return FeedbackResource(url=f"sqlite:///{tmp_path / 'feedback.db'}")


def _rate(feedback, *ratings: int) -> None:
    feedback.store().add_many(
        [
            FeedbackRecord(f"How was my sleep on night {next(_SEQ)}?", "You slept 7 h.", r, "3")
            for r in ratings
        ],
        PSEUDO,
    )


def _tick(instance, cursor, feedback):
    ctx = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"feedback": feedback}
    )
    return feedback_threshold_sensor(ctx), ctx.cursor


# --- the sensor ---------------------------------------------------------------------------------


def test_enough_rated_answers_retrain_once_with_the_counts_in_the_tags(feedback):
    threshold = automation_policy().preference_examples
    assert threshold == 250  # configs/automation.yaml
    instance = dg.DagsterInstance.ephemeral()
    _rate(feedback, 5, 1)  # history before the first tick: not counted
    result, cursor = _tick(instance, None, feedback)
    assert isinstance(result, dg.SkipReason)
    _rate(feedback, *[3] * 40)  # a 3 teaches nothing: never counted
    _rate(feedback, *[5, 4] * ((threshold - 2) // 2), 1)
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.SkipReason)
    assert f"{threshold - 1} rated answers to learn from" in result.skip_message
    assert f"(threshold {threshold})" in result.skip_message
    _rate(feedback, 2)
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.RunRequest) and result.run_key.startswith("feedback-preference-")
    assert result.tags[PREFERENCE_COUNT_TAG] == str(threshold)
    assert result.tags[CORRECTION_COUNT_TAG] == "0"
    assert result.tags[REASON_TAG] == "feedback_threshold"
    # The same ratings never ask twice: the next tick starts from zero, new ratings or not.
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.SkipReason) and "0 rated answers" in result.skip_message
    _rate(feedback, *[5] * 10)
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.SkipReason) and "10 rated answers" in result.skip_message
    # A training resets the count to what arrives after it.
    instance.report_runless_asset_event(dg.AssetMaterialization("lora_adapter"))
    _rate(feedback, 1)
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.SkipReason) and "1 rated answers" in result.skip_message
    assert json.loads(cursor)["preference"] == 1


def test_poor_ratings_with_enough_to_learn_from_retrain_without_corrections(feedback):
    policy = automation_policy()
    instance = dg.DagsterInstance.ephemeral()
    result, cursor = _tick(instance, None, feedback)
    _rate(feedback, *[1] * 40)  # poor, but 40 ratings are too few to tune on: it waits
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.SkipReason) and "nothing new to learn from" in result.skip_message
    # Then: the last 200 ratings average 2.4, 99 negatives in all (the negative trigger wants
    # 100), and 299 rated answers to learn from, not a single correction.
    assert (policy.window, policy.negatives_since_training) == (200, 100)
    assert policy.preference_examples <= 299
    _rate(feedback, *[5] * 200, *[1] * 59, *[3] * 141)
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.RunRequest) and result.run_key.startswith("feedback-average-")
    assert result.tags[PREFERENCE_COUNT_TAG] == "299"
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.SkipReason)  # the crossing and the count fired together, once


# --- ratings posted over HTTP ---------------------------------------------------------------------


@pytest.fixture
def feedback_server(feedback) -> Iterator[tuple[str, dict[str, Any]]]:
    """A stand-in for the model server's `POST /v1/feedback` (its own issue builds the real one):
    it ties a response id to the answer it served and stores the rating through the store."""
    served: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/feedback" or self.headers.get("Authorization") != "Bearer k1":
                return self._reply(401, {"error": {"message": "bad key", "type": "auth"}})
            if body["response_id"] not in served:
                message = f"no response {body['response_id']}"
                return self._reply(404, {"error": {"message": message}})
            row = served[body["response_id"]]
            record = FeedbackRecord(
                row["instruction"], row["answer"], body["rating"], "3",
                corrected_response=body.get("corrected_answer"), context=row["input"],
            )  # fmt: skip
            self._reply(200, {"id": feedback.store().add(record, PSEUDO), "object": "feedback"})

        def _reply(self, status: int, doc: dict[str, Any]) -> None:
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()


def test_the_clinic_posts_ratings_that_the_sensor_counts(feedback, feedback_server):
    url, served = feedback_server
    facts = {"resting_hr_bpm": 58}
    reference = "Your resting heart rate was 58 bpm."
    answers = {"r-good": reference, "r-bad": "Your resting heart rate was 90 bpm."}
    for rid, answer in answers.items():
        served[rid] = {"instruction": "How was my heart rate?", "input": "Resting HR 58 bpm.",
                       "answer": answer}  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    result, cursor = _tick(instance, None, feedback)
    rows = [
        {**served[rid], "output": reference, "facts": facts, "answer": answer}
        for rid, answer in answers.items()
    ]
    with FeedbackClient(url, api_key="k1") as client:
        ratings = rate_served(
            client,
            SimulatedClinic(corrects=True),
            [ServedAnswer(rid, row["answer"], row) for rid, row in zip(answers, rows, strict=True)],
        )
        assert [r.rating for r in ratings] == [5, 1]
        with pytest.raises(FeedbackPostError, match="404: no response r-none"):
            client.post("r-none", 3)
        with pytest.raises(ValueError, match="1-5"):
            client.post("r-good", 6)
    with FeedbackClient(url, api_key="wrong") as client, pytest.raises(FeedbackPostError) as err:
        client.post("r-good", 5)
    assert err.value.status == 401
    stored = feedback.store().since(0)
    assert [(r.rating, r.corrected_response) for r in stored] == [(5, None), (1, reference)]
    result, cursor = _tick(instance, cursor, feedback)
    assert isinstance(result, dg.SkipReason)
    # The correction waits for a reviewer: it counts once approved.
    assert "0 corrections and 2 rated answers to learn from" in result.skip_message
    queue = ReviewQueue(feedback.store())
    (pending,) = queue.pending()
    queue.decide(pending.id, approve=True, by="operator", reason="matches the facts")
    result, cursor = _tick(instance, cursor, feedback)
    assert "1 corrections and 2 rated answers to learn from" in result.skip_message


# --- the assets -----------------------------------------------------------------------------------


@pytest.fixture
def lake(tmp_path, feedback):
    """A stored training dataset version, its materialization, and ratings of answers to every
    one of its prompts (test prompts included): right answers 5, wrong numbers 1."""
    storage = LocalStorage(root=str(tmp_path / "lake"))
    ds = build_training_dataset({"2025-01": glucose_examples(80)}, SplitPolicy())
    for split, data in ds.files.items():
        storage.write_bytes(layout.dataset_split(ds.version, split), data)
    storage.write_bytes(layout.dataset_manifest(ds.version), json.dumps(ds.manifest).encode())
    instance = dg.DagsterInstance.ephemeral()
    instance.report_runless_asset_event(
        dg.AssetMaterialization("training_dataset", metadata={"version": ds.version})
    )
    records = []
    for split, rows in ds.rows.items():
        for r in rows:
            wrong = r["output"].replace("mg/dL", "0 mg/dL", 1)
            for answer, rating in ((r["output"], 5), (wrong, 1)):
                records.append(FeedbackRecord(r["instruction"], answer, rating, split,
                                              context=r["input"]))  # fmt: skip
    feedback.store().add_many(records, PSEUDO)
    return storage, instance, ds


def _metadata(result, asset: str) -> dict[str, Any]:
    (mat,) = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in mat.metadata.items()}


def test_preference_dataset_keeps_test_prompts_out_of_training(lake, feedback):
    storage, instance, ds = lake
    result = dg.materialize(
        [preference_dataset],
        resources={"feedback": feedback, "storage": storage},
        instance=instance,
    )
    assert result.success
    meta = _metadata(result, "preference_dataset")
    assert meta["training_dataset_version"] == ds.version and meta["rated_answers"] == 160
    assert meta["by_rating"] == {"1": 80, "5": 80}
    # each answer was rated under its SFT split's name as the model version
    assert meta["by_model_version"] == {s: 2 * len(rows) for s, rows in ds.rows.items()}
    assert meta["by_kind"] == {"dpo_rating_pair": 80, "kto_desirable": 80, "kto_undesirable": 80}
    assert "| kto_desirable |" in meta["by_kind_and_split"] and "| prompt |" in meta["sample"]
    raw = storage.read_bytes(layout.preference_examples(meta["version"])).decode()
    examples = [json.loads(line) for line in raw.splitlines()]
    held = {
        prompt_key(r["instruction"], r["input"]): split
        for split in ("validation", "test")
        for r in ds.rows[split]
    }
    assert all(held[e["prompt_key"]] == e["split"] for e in examples if e["prompt_key"] in held)
    trained = {e["prompt_key"] for e in examples if e["split"] == "train"}
    assert trained and not trained & set(held)
    assert meta["train_examples"] == len([e for e in examples if e["split"] == "train"])


@pytest.mark.slow
def test_the_preference_tuned_adapter_is_evaluated_and_registered(lake, feedback, tmp_path):
    from health_training.ml.lm.tiny import build_tiny_model

    storage, instance, ds = lake
    build_tiny_model(tmp_path / "models" / "tiny-random")
    resources = {
        "feedback": feedback,
        "storage": storage,
        "training": TrainingResource(home=str(tmp_path), profile="cpu_demo"),
        "mlflow": MlflowResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            artifact_location=str(tmp_path / "artifacts"),
        ),
        "carbon": CarbonResource(country_iso_code="USA"),
        "judge": JudgeResource(),
    }
    run_config = {
        "ops": {
            "lora_adapter": {"config": {"base_model": "tiny-random", "max_steps": 2}},
            "eval_report": {"config": {"max_examples": 4}},
        }
    }
    result = dg.materialize(
        [preference_dataset, lora_adapter, eval_report, emissions_report, registered_model],
        resources=resources,
        instance=instance,
        run_config=run_config,
    )
    assert result.success
    data = _metadata(result, "preference_dataset")
    adapter = _metadata(result, "lora_adapter")
    assert adapter["preference_data_version"] == data["version"]
    assert adapter["preference_stage"].startswith("kto: ")
    assert adapter["run_identity"] != adapter["sft_run_identity"]
    # both runs are in storage: the final adapter for evaluation, the SFT run for a no-op later
    for identity in (adapter["run_identity"], adapter["sft_run_identity"]):
        assert storage.exists(layout.model_run(identity, "train_result.json"))
    assert storage.exists(layout.model_run(adapter["run_identity"], "adapter/adapter_config.json"))
    # the registry holds the preference-tuned adapter, its data version among the run's tags
    registered = _metadata(result, "registered_model")
    assert registered["run_identity"] == adapter["run_identity"]
    assert registered["alias"] == "staging"
    client = resources["mlflow"].registry().client
    version = client.get_model_version("health-query-olmo", registered["version"])
    run = client.get_run(version.run_id)
    assert run.data.tags["preference_data_version"] == data["version"]
    assert "eval_loss" in run.data.metrics and "kg_co2eq" in run.data.metrics


def test_the_count_walks_only_the_new_ids(feedback):
    _rate(feedback, *range(1, 6))
    store = feedback.store()
    assert store.count_preference_since(0, 4, 2) == 4 and store.count_preference_since(3, 4, 2) == 2
    plan = store.query_plan(
        "count_preference_since", after_id=3, desirable_min=4, undesirable_max=2
    )
    assert plan == "SEARCH feedback USING INTEGER PRIMARY KEY (rowid>?)"
