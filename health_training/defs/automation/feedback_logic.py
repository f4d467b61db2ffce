"""The feedback sensor's decision, as a pure function of the counts one tick read (tested tick
by tick without a Dagster instance)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from health_training.defs.automation.policy import AutomationPolicy


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
