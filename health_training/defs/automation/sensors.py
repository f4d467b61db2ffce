"""Sensors that start retrains by themselves, each with a JSON cursor and a `run_key` per trigger
so nothing fires twice for one reason (thresholds in configs/automation.yaml):

- `feedback_threshold_sensor`: the average rating of the recent window falls below its threshold,
  or enough negative ratings arrive since the last training — and there is something a retrain
  can learn from (new corrections, or enough rated answers for the preference stage, since that
  training); else the skip reason says why. Enough rated answers also retrain on their own.
  Ratings count per rater, at most `max_per_rater` each (data/feedback_review.py): one key's
  burst never crosses a threshold alone, and the skip reason says what it ignored. Only
  corrections a reviewer approved count as something to learn from.
- `new_data_volume_sensor`: enough curated examples arrive since the adapter's training.
- `drift_sensor`: a curated month drifts from the training baseline (score above the threshold
  the month recorded; a month that kept nothing has no score and triggers nothing).
- `monthly_retrain_sensor`: the schedule's monthly data run succeeded → retrain.

Each tick reads only what is new since its cursor (feedback ids, event-log storage ids), so its
cost grows with new events, not with history. The decisions are pure functions
(data/retrain_triggers.py).
"""

import json
from typing import Any

import dagster as dg

from health_training.constants import (
    CORRECTION_COUNT_TAG,
    DRIFT_MONTH_TAG,
    PREFERENCE_COUNT_TAG,
    TRIGGER_TAG,
    training_tags,
)
from health_training.data.retrain_triggers import automation_policy, count_tick, feedback_decision
from health_training.defs.automation.jobs import monthly_data_job, training_job
from health_training.ml.preference.examples import DESIRABLE_MIN_RATING, UNDESIRABLE_MAX_RATING
from health_training.resources import FeedbackResource


def _cursor(context: dg.SensorEvaluationContext, default: dict[str, Any]) -> dict[str, Any]:
    return {**default, **json.loads(context.cursor)} if context.cursor else dict(default)


def _latest_event_id(instance: dg.DagsterInstance, asset: str) -> int:
    result = instance.fetch_materializations(dg.AssetKey(asset), limit=1)
    return result.records[0].storage_id if result.records else 0


def _new_events(instance: dg.DagsterInstance, asset: str, after: int, limit: int = 500):
    return instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=after),
        limit=limit,
        ascending=True,
    ).records


def training_request(reason: str, run_key: str, **tags: str) -> dg.RunRequest:
    """A retrain carrying its reason and the GPU tag as run tags (lora_adapter sends the reason
    on to MLflow; the GPU launcher places the run)."""
    return dg.RunRequest(run_key=run_key, tags=training_tags(reason, **tags))


@dg.sensor(
    job=training_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description=(
        "Retrain when recent ratings are poor and there is something to learn from, or when "
        "enough rated answers arrived for the preference stage."
    ),
)
def feedback_threshold_sensor(context: dg.SensorEvaluationContext, feedback: FeedbackResource):
    from health_training.stores.review_queue import ReviewQueue

    policy, store = automation_policy(), feedback.store()
    queue = ReviewQueue(store)
    max_id, approved = store.max_id(), queue.approved_count()
    trained = _latest_event_id(context.instance, "lora_adapter")
    # First tick: ratings so far are history (a training is assumed to have seen the corrections
    # approved so far, unless nothing was ever trained); the average needs no cursor.
    default = {"last_id": max_id, "negatives": 0, "below": False, "trained_event": trained}
    state = _cursor(context, default | {"approved_at_training": approved if trained else 0})
    if trained != state["trained_event"]:  # a training happened: count from its data on
        state.update(trained_event=trained, negatives=0, preference=0, approved_at_training=approved,
                     by_rater={}, pref_by_rater={}, ignored=0, over=[])  # fmt: skip
    new_rows = queue.ratings_since(state["last_id"]) if max_id > state["last_id"] else []
    state, counts = count_tick(
        state,
        new_rows,
        queue.newest_ratings(policy.window),
        queue.trust_levels(),
        approved=approved,
        max_id=max_id,
        policy=policy,
        desirable_min=DESIRABLE_MIN_RATING,
        undesirable_max=UNDESIRABLE_MAX_RATING,
    )
    rated = state.get("preference", 0) + counts.new_preference  # before a request resets it
    state, request, numbers = feedback_decision(state, counts, policy)
    if request is not None:  # the request took these ratings: shares start again
        state.update(by_rater={}, pref_by_rater={}, ignored=0, over=[])
    context.update_cursor(json.dumps(state))
    if request is None:
        return dg.SkipReason(f"no retrain: {numbers}")
    context.log.info(f"retrain requested: {numbers}")
    tags = {
        PREFERENCE_COUNT_TAG: str(rated),
        CORRECTION_COUNT_TAG: str(counts.corrections_since_training),
    }
    return training_request("feedback_threshold", request, **tags)


@dg.sensor(
    job=training_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Retrain when enough curated examples arrive after the adapter's data.",
)
def new_data_volume_sensor(context: dg.SensorEvaluationContext):
    threshold = automation_policy().new_curated_examples
    state = _cursor(context, {"after": 0, "months": {}, "trained_event": 0})
    trained = _latest_event_id(context.instance, "lora_adapter")
    if trained != state["trained_event"]:
        # Only months curated after the training count.
        state.update(trained_event=trained, months={}, after=max(state["after"], trained))
    for record in _new_events(context.instance, "curated_narratives", state["after"]):
        mat = record.asset_materialization
        if mat is not None and mat.partition and "kept" in mat.metadata:
            # A month materialized again replaces its own count instead of adding to it.
            state["months"][mat.partition] = int(mat.metadata["kept"].value)
        state["after"] = record.storage_id
    arrived = sum(state["months"].values())
    numbers = f"{arrived:,} curated examples since the last training (threshold {threshold:,})"
    request = None
    if arrived >= threshold:
        request = training_request("data_volume", f"data-volume-{state['after']}")
        state["months"] = {}
    context.update_cursor(json.dumps(state))
    if request is None:
        return dg.SkipReason(f"no retrain: {numbers}")
    context.log.info(f"retrain requested: {numbers}")
    return request


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
            continue  # no baseline yet, or the month kept nothing: nothing drifted
        score = float(mat.metadata["drift_score"].value)
        threshold = float(mat.metadata["drift_threshold"].value)
        scores[mat.partition] = score
        if score > threshold:
            tags = {DRIFT_MONTH_TAG: str(mat.partition)}
            run_key = f"drift-{mat.partition}-{record.storage_id}"
            requests.append(training_request("drift", run_key, **tags))
    context.update_cursor(json.dumps(state))
    if requests:
        return requests[:1]  # one retrain covers every drifted month of this tick
    return dg.SkipReason(f"no month drifted above its threshold: {scores or 'no new months'}")


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
