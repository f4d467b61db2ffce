"""Sensors that start retrains by themselves, each with a JSON cursor and a `run_key` per trigger
so nothing fires twice for one reason:

- `feedback_threshold_sensor`: the average rating of the recent window falls below 3.0 (the
  OLMo spec), or 100 negative ratings (< 3) arrive since the last training (Stream-14).
- `new_data_volume_sensor`: 10,000 curated examples arrive since the adapter's training.
- `drift_sensor`: a curated month drifts from the training baseline.
- `monthly_retrain_sensor`: the schedule's monthly data run succeeded → retrain.

Each tick reads only what is new since its cursor (feedback ids, event-log storage ids), so its
cost grows with new events, not with history.
"""

import json
from typing import Any

import dagster as dg

from health_training.jobs import monthly_data_job, training_job
from health_training.resources import FeedbackResource

REASON_TAG = "health_training/reason"
TRIGGER_TAG = "health_training/trigger"
WINDOW = 200  # ratings in the "recent window"
AVG_THRESHOLD = 3.0
NEGATIVE_RATING = 3  # ratings below this are negative
NEGATIVE_COUNT = 100
VOLUME_THRESHOLD = 10_000
DRIFT_THRESHOLD = 0.15


def _cursor(context: dg.SensorEvaluationContext, default: dict[str, Any]) -> dict[str, Any]:
    return {**default, **json.loads(context.cursor)} if context.cursor else dict(default)


def _latest_event_id(instance: dg.DagsterInstance, asset: str) -> int:
    result = instance.fetch_materializations(dg.AssetKey(asset), limit=1)
    return result.records[0].storage_id if result.records else 0


def training_request(reason: str, run_key: str, **tags: str) -> dg.RunRequest:
    """A retrain carrying its reason as a run tag (lora_adapter sends it on to MLflow)."""
    return dg.RunRequest(run_key=run_key, tags={REASON_TAG: reason, **tags})


def feedback_decision(
    state: dict[str, Any],
    *,
    new_negatives: int,
    max_id: int,
    average: float | None,
    window_n: int,
    trained_event: int,
) -> tuple[dict[str, Any], dg.RunRequest | None, str]:
    """Pure tick logic: the new cursor, an optional request, and the numbers for the log."""
    state = dict(state)
    if trained_event != state["trained_event"]:
        # A training happened since the last tick: count negatives from here on.
        state.update(trained_event=trained_event, negatives=0)
    else:
        state["negatives"] += new_negatives
    state["last_id"] = max_id
    below = average is not None and window_n >= min(WINDOW, 20) and average < AVG_THRESHOLD
    numbers = (
        f"average {average:.2f} over the last {window_n} ratings (threshold {AVG_THRESHOLD}), "
        f"{state['negatives']} negative since the last training (threshold {NEGATIVE_COUNT})"
        if average is not None
        else "no ratings yet"
    )
    request = None
    if state["negatives"] >= NEGATIVE_COUNT:
        request = training_request("feedback_threshold", f"feedback-negatives-{max_id}")
        state["negatives"] = 0
    elif below and not state["below"]:
        request = training_request("feedback_threshold", f"feedback-average-{max_id}")
    # A crossing fires once; the average must come back above the threshold to re-arm it.
    state["below"] = below
    return state, request, numbers


@dg.sensor(
    job=training_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Retrain when recent ratings average below 3.0 or 100 negatives arrive.",
)
def feedback_threshold_sensor(context: dg.SensorEvaluationContext, feedback: FeedbackResource):
    store = feedback.store()
    max_id = store.max_id()
    if not context.cursor:
        # First tick: count from now on rather than scanning all history (a training is assumed
        # to have seen it); the average needs no cursor.
        trained = _latest_event_id(context.instance, "lora_adapter")
        state = {"last_id": max_id, "negatives": 0, "below": False, "trained_event": trained}
    else:
        state = _cursor(context, {"last_id": 0, "negatives": 0, "below": False, "trained_event": 0})
    new_negatives = (
        store.count_negative_since(state["last_id"], NEGATIVE_RATING)
        if max_id > state["last_id"]
        else 0
    )
    average, window_n = store.recent_average(WINDOW)
    state, request, numbers = feedback_decision(
        state,
        new_negatives=new_negatives,
        max_id=max_id,
        average=average,
        window_n=window_n,
        trained_event=_latest_event_id(context.instance, "lora_adapter"),
    )
    context.update_cursor(json.dumps(state))
    if request is None:
        return dg.SkipReason(f"no retrain: {numbers}")
    context.log.info(f"retrain requested: {numbers}")
    return request


def _new_events(instance: dg.DagsterInstance, asset: str, after: int, limit: int = 500):
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=after),
        limit=limit,
        ascending=True,
    )
    return result.records


@dg.sensor(
    job=training_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Retrain when 10,000 curated examples arrive after the adapter's data.",
)
def new_data_volume_sensor(context: dg.SensorEvaluationContext):
    state = _cursor(context, {"after": 0, "months": {}, "trained_event": 0})
    trained = _latest_event_id(context.instance, "lora_adapter")
    if trained != state["trained_event"]:
        state.update(trained_event=trained, months={})
        state["after"] = max(
            state["after"], trained
        )  # only months curated after the training count
    for record in _new_events(context.instance, "curated_narratives", state["after"]):
        mat = record.asset_materialization
        if mat is not None and mat.partition and "kept" in mat.metadata:
            # A month materialized again replaces its own count instead of adding to it.
            state["months"][mat.partition] = int(mat.metadata["kept"].value)
        state["after"] = record.storage_id
    arrived = sum(state["months"].values())
    numbers = (
        f"{arrived:,} curated examples since the last training (threshold {VOLUME_THRESHOLD:,})"
    )
    if arrived >= VOLUME_THRESHOLD:
        request = training_request("data_volume", f"data-volume-{state['after']}")
        state["months"] = {}
        context.update_cursor(json.dumps(state))
        context.log.info(f"retrain requested: {numbers}")
        return request
    context.update_cursor(json.dumps(state))
    return dg.SkipReason(f"no retrain: {numbers}")


@dg.sensor(
    job=training_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Retrain when a curated month drifts from the training baseline.",
)
def drift_sensor(context: dg.SensorEvaluationContext):
    state = _cursor(context, {"after": 0})
    requests, scores = [], {}
    for record in _new_events(context.instance, "curated_narratives", state["after"]):
        mat = record.asset_materialization
        state["after"] = record.storage_id
        if mat is None or "drift_score" not in mat.metadata:
            continue
        score = float(mat.metadata["drift_score"].value)
        scores[mat.partition] = score
        if score > DRIFT_THRESHOLD:
            requests.append(
                training_request(
                    "drift",
                    f"drift-{mat.partition}-{record.storage_id}",
                    **{"health_training/drift_month": str(mat.partition)},
                )
            )
    context.update_cursor(json.dumps(state))
    if requests:
        return requests[:1]  # one retrain covers every drifted month of this tick
    return dg.SkipReason(f"no drift above {DRIFT_THRESHOLD}: {scores or 'no new months'}")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitored_jobs=[monthly_data_job],
    request_job=training_job,
    description="After the monthly schedule's data run succeeds, retrain on it.",
)
def monthly_retrain_sensor(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    if run.tags.get(TRIGGER_TAG) != "monthly":
        return dg.SkipReason(f"run {run.run_id} was not started by the monthly schedule")
    return training_request("monthly", f"monthly-{run.run_id}")
