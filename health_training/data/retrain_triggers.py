"""When the platform retrains by itself: the automation policy (configs/automation.yaml, the
thresholds the retrain sensors use, defined once) and the feedback sensor's tick as pure
functions of what it read, tested tick by tick without a Dagster instance.

`count_tick` turns one tick's new ratings into counts (per rater, each capped at its share:
data/feedback_review.py); `feedback_decision` decides whether they ask for a retrain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from health_training.data.feedback_review import capped, rater_of, window_average

POLICY = Path(__file__).resolve().parents[1] / "configs" / "automation.yaml"


@dataclass(frozen=True, slots=True)
class AutomationPolicy:
    window: int = 200
    min_ratings: int = 20
    average_below: float = 3.0
    negative_below: int = 3
    negatives_since_training: int = 100
    preference_examples: int = 250  # rated answers to learn from since the last training
    new_curated_examples: int = 10_000
    max_per_rater: int = 5  # one rater's ratings beyond this many are ignored (a burst)


@cache
def automation_policy(path: Path = POLICY) -> AutomationPolicy:
    raw = yaml.safe_load(path.read_text()) or {}
    feedback, volume = raw.get("feedback") or {}, raw.get("data_volume") or {}
    return AutomationPolicy(
        window=int(feedback["window"]),
        min_ratings=int(feedback["min_ratings"]),
        average_below=float(feedback["average_below"]),
        negative_below=int(feedback["negative_below"]),
        negatives_since_training=int(feedback["negatives_since_training"]),
        preference_examples=int(feedback["preference_examples"]),
        new_curated_examples=int(volume["new_curated_examples"]),
        max_per_rater=int(feedback.get("max_per_rater", 5)),
    )


@dataclass(frozen=True, slots=True)
class FeedbackCounts:
    new_negatives: int  # negative ratings since the last tick
    max_id: int  # the newest feedback id
    average: float | None  # of the recent window
    window_n: int  # ratings in the recent window
    corrections_since_training: int  # what a retrain could learn from
    # Rated answers a preference stage can learn from (>= 4, <= 2 or corrected) since the last
    # tick; the cursor adds them up until a training or a retrain request resets the sum.
    new_preference: int = 0
    # Ratings ignored since the last training because their rater was beyond its share, and
    # how many raters that was (data/feedback_review.py).
    ignored: int = 0
    ignored_raters: int = 0


def feedback_decision(
    state: dict[str, Any], counts: FeedbackCounts, policy: AutomationPolicy
) -> tuple[dict[str, Any], str | None, str]:
    """(new cursor state, the run key of a requested retrain or None, the numbers in words)."""
    state = dict(state)
    state["negatives"] += counts.new_negatives
    state["preference"] = state.get("preference", 0) + counts.new_preference
    state["last_id"] = counts.max_id
    below = (
        counts.average is not None
        and counts.window_n >= min(policy.window, policy.min_ratings)
        and counts.average < policy.average_below
    )
    numbers = (
        f"average {counts.average:.2f} over the last {counts.window_n} ratings (threshold "
        f"{policy.average_below}), {state['negatives']} negative since the last training "
        f"(threshold {policy.negatives_since_training}), {counts.corrections_since_training} "
        f"corrections and {state['preference']} rated answers to learn from since the last "
        f"training (threshold {policy.preference_examples})"
        if counts.average is not None
        else "no ratings yet"
    )
    if counts.ignored:
        numbers += (
            f"; ignored {counts.ignored} ratings from {counts.ignored_raters} rater(s) beyond "
            f"their share of {policy.max_per_rater} (a burst from one key counts once per share)"
        )
    # Enough rated answers retrain on their own: the preference stage learns from them.
    enough = 0 < policy.preference_examples <= state["preference"]
    wants = state["negatives"] >= policy.negatives_since_training or (below and not state["below"])
    if wants and counts.corrections_since_training == 0 and not enough:
        # Too few ratings to tune on and no correction: a retrain would reproduce the same
        # model. The crossing stays armed, so the retrain comes when something to learn from does.
        state["below"] = False
        return (
            state,
            None,
            f"{numbers}; ratings are poor but nothing new to learn from since the last training",
        )
    # A crossing fires once; the average must come back above the threshold to re-arm it.
    state["below"] = below
    if not (wants or enough):
        return state, None, numbers
    key = (
        "negatives"
        if state["negatives"] >= policy.negatives_since_training
        else "average"
        if wants
        else "preference"
    )
    # The request takes what arrived so far: the same ratings never ask for a second retrain.
    state["negatives"] = state["preference"] = 0
    return state, f"feedback-{key}-{counts.max_id}", numbers


def count_tick(
    state: dict[str, Any],
    new_rows: Iterable[tuple[Any, ...]],
    window_rows: Iterable[Any],
    trust: Mapping[str, int],
    *,
    approved: int,
    max_id: int,
    policy: AutomationPolicy,
    desirable_min: float,
    undesirable_max: float,
) -> tuple[dict[str, Any], FeedbackCounts]:
    """(the cursor state with this tick's per-rater shares, the tick's counts). `new_rows`: the
    (id, key, user, rating, corrected) tuples since the cursor; `window_rows`: the newest
    `policy.window` ratings; `approved`: corrections approved so far."""
    state, cap = dict(state), policy.max_per_rater
    new_rows = list(new_rows)
    negatives = [
        rater_of(i, key, user, trust) for i, key, user, rating, _ in new_rows
        if rating < policy.negative_below
    ]  # fmt: skip
    negative_share, state["by_rater"] = capped(negatives, cap, state.get("by_rater"))
    preference = [
        rater_of(i, key, user, trust)
        for i, key, user, rating, corrected in new_rows
        if (key is None or trust.get(key, 0) >= 1)  # what the preference stage may use
        and (rating >= desirable_min or rating <= undesirable_max or corrected)
    ]
    preference_share, state["pref_by_rater"] = capped(preference, cap, state.get("pref_by_rater"))
    average, window_n, window_ignored = window_average(window_rows, cap, trust)
    # Ignored since the last training: negatives beyond a rater's share, and who went beyond.
    state["ignored"] = state.get("ignored", 0) + negative_share.ignored
    state["over"] = sorted(set(state.get("over", [])) | negative_share.over)
    counts = FeedbackCounts(
        new_negatives=negative_share.counted,
        max_id=max_id,
        average=average,
        window_n=window_n,
        corrections_since_training=approved - state["approved_at_training"],
        new_preference=preference_share.counted,
        ignored=max(state["ignored"], window_ignored),
        ignored_raters=len(state["over"]) or int(window_ignored > 0),
    )
    return state, counts
