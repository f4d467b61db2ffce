"""Sensors and the schedule, tick by tick: fire, skip with the numbers, never twice for one reason."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from health_training.constants import GPU_TAG, REASON_TAG
from health_training.data.feedback import FeedbackRecord
from health_training.data.phi import Pseudonymizer
from health_training.data.retrain_triggers import (
    FeedbackCounts,
    automation_policy,
    feedback_decision,
)
from health_training.defs.automation.schedules import monthly_retrain_schedule
from health_training.defs.automation.sensors import (
    drift_sensor,
    feedback_threshold_sensor,
    new_data_volume_sensor,
)
from health_training.resources import FeedbackResource
from health_training.stores.review_queue import ReviewQueue

PSEUDO = Pseudonymizer(b"k" * 32)


@pytest.fixture
def feedback(tmp_path):
    return FeedbackResource(url=f"sqlite:///{tmp_path / 'feedback.db'}")


_SEQ = iter(range(10**9))


def _rate(feedback, *ratings: int, correction: str | None = None) -> None:
    feedback.store().add_many(
        [
            FeedbackRecord(
                query=f"How was my sleep on night {next(_SEQ)}?",
                response="You slept 7 h.",
                rating=r,
                model_version="3",
                user_id="user_0001",
                corrected_response=correction,
            )
            for r in ratings
        ],
        PSEUDO,
    )
    if correction is not None:  # a reviewer approves it: only approved corrections count
        queue = ReviewQueue(feedback.store())
        for row in queue.pending(limit=10_000):
            queue.decide(row.id, approve=True, by="operator", reason="checked")


def _tick(sensor, instance, cursor, **resources):
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources or None)
    result = sensor(ctx)
    return result, ctx.cursor


def test_feedback_average_crossing_fires_once_and_rearms(feedback):
    instance = dg.DagsterInstance.ephemeral()
    _rate(feedback, *[4] * 30)
    result, cursor = _tick(feedback_threshold_sensor, instance, None, feedback=feedback)
    assert (
        isinstance(result, dg.SkipReason) and "average 4.00 over the last 30" in result.skip_message
    )
    _rate(feedback, *[1] * 40)  # average of the last 70: (120 + 40) / 70 = 2.29
    result, cursor = _tick(feedback_threshold_sensor, instance, cursor, feedback=feedback)
    # Poor ratings alone change no training example: the skip says so and the crossing waits.
    assert isinstance(result, dg.SkipReason) and "nothing new to learn from" in result.skip_message
    _rate(feedback, 1, correction="You slept 6 h 40 min, under the 7-9 h adults need.")
    result, cursor = _tick(feedback_threshold_sensor, instance, cursor, feedback=feedback)
    assert isinstance(result, dg.RunRequest) and result.tags[REASON_TAG] == "feedback_threshold"
    assert result.tags[GPU_TAG] == "1"  # a sensor's retrain reaches the GPU launcher too
    first_key = result.run_key
    result, cursor = _tick(feedback_threshold_sensor, instance, cursor, feedback=feedback)
    assert isinstance(result, dg.SkipReason)  # still below: the same crossing never fires twice
    _rate(feedback, *[5] * 200)  # back above the threshold: re-armed
    result, cursor = _tick(feedback_threshold_sensor, instance, cursor, feedback=feedback)
    assert isinstance(result, dg.SkipReason)
    _rate(feedback, *[1] * 150, correction="Deep sleep was 64 min, 17% of the night.")
    result, cursor = _tick(feedback_threshold_sensor, instance, cursor, feedback=feedback)
    assert isinstance(result, dg.RunRequest) and result.run_key != first_key


def _counts(new: int, max_id: int, average: float, corrections: int = 1) -> FeedbackCounts:
    return FeedbackCounts(new, max_id, average, 200, corrections)


def test_feedback_negative_count_fires_at_the_policy_threshold():
    policy = automation_policy()
    assert policy.negatives_since_training == 100
    state = {"last_id": 0, "negatives": 0, "below": False}
    state, req, _ = feedback_decision(state, _counts(60, 60, 3.5), policy)
    assert req is None and state["negatives"] == 60
    state, req, _ = feedback_decision(state, _counts(40, 100, 3.4), policy)
    assert req == "feedback-negatives-100" and state["negatives"] == 0
    state, req, _ = feedback_decision(state, _counts(0, 100, 3.4), policy)
    assert req is None
    # Without anything to learn from, 100 negatives still do not retrain; the count waits.
    state, req, numbers = feedback_decision(state, _counts(100, 200, 3.4, 0), policy)
    assert req is None and state["negatives"] == 100 and "nothing new to learn" in numbers


def _curated_event(instance, month: str, kept: int, drift: float | None = None) -> None:
    metadata = {"kept": kept}
    if drift is not None:
        metadata |= {"drift_score": drift, "drift_threshold": 0.15}
    instance.report_runless_asset_event(
        dg.AssetMaterialization("curated_narratives", partition=month, metadata=metadata)
    )


def test_new_data_volume_counts_months_once_and_fires_once():
    instance = dg.DagsterInstance.ephemeral()
    _curated_event(instance, "2025-01", 6_000)
    result, cursor = _tick(new_data_volume_sensor, instance, None)
    assert isinstance(result, dg.SkipReason) and "6,000 curated examples" in result.skip_message
    _curated_event(instance, "2025-01", 6_500)  # January again: replaces, does not add
    result, cursor = _tick(new_data_volume_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason) and "6,500" in result.skip_message
    _curated_event(instance, "2025-02", 4_000)
    result, cursor = _tick(new_data_volume_sensor, instance, cursor)
    assert isinstance(result, dg.RunRequest) and result.tags[REASON_TAG] == "data_volume"
    result, cursor = _tick(new_data_volume_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason) and "0 curated" in result.skip_message
    # A training resets the count to what arrives after it.
    instance.report_runless_asset_event(dg.AssetMaterialization("lora_adapter"))
    _curated_event(instance, "2025-03", 2_000)
    result, cursor = _tick(new_data_volume_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason) and "2,000" in result.skip_message
    assert json.loads(cursor)["months"] == {"2025-03": 2000}


def test_drift_sensor_fires_for_a_drifted_month_only_once():
    instance = dg.DagsterInstance.ephemeral()
    _curated_event(instance, "2025-04", 100, drift=0.02)
    result, cursor = _tick(drift_sensor, instance, None)
    assert isinstance(result, dg.SkipReason)
    _curated_event(instance, "2025-05", 100, drift=0.4)
    result, cursor = _tick(drift_sensor, instance, cursor)
    assert len(result) == 1 and result[0].tags[REASON_TAG] == "drift"
    assert result[0].tags["health_training/drift_month"] == "2025-05"
    result, cursor = _tick(drift_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason)
    # A month that kept nothing has no drift score: it never starts a retrain.
    _curated_event(instance, "2025-09", 0)
    result, cursor = _tick(drift_sensor, instance, cursor)
    assert isinstance(result, dg.SkipReason)


def test_monthly_schedule_requests_last_month():
    ctx = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 4, 1, 2, 0, tzinfo=dt.UTC)
    )
    request = monthly_retrain_schedule(ctx)
    assert request.partition_key == "2025-03"
    assert request.tags["health_training/trigger"] == "monthly"
    assert request.run_key == "monthly-2025-03"
    assert monthly_retrain_schedule.cron_schedule == "0 2 1 * *"
