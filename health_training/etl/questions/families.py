"""The question kinds, how often each is drawn, and which template families are held out.

`HELD_OUT_FAMILIES` names whole families (about a quarter, at least one of every kind) that the
split sends to `freeform_test` only, so that the free-form evaluation measures answers to
phrasings the model never saw in training. Changing it changes the splits: do it between
experiments, not within one.
"""

from __future__ import annotations

QUESTION_KINDS: tuple[str, ...] = (
    "lookup",
    "judgement",
    "computation",
    "user_stated",
    "unanswerable",
    "day_summary",
)
# Per-batch kinds and their weights; day summaries are drawn per user-day instead.
KIND_WEIGHTS: dict[str, float] = {
    "lookup": 0.2,
    "judgement": 0.2,
    "computation": 0.2,
    "user_stated": 0.25,
    "unanswerable": 0.1,
}
HELD_OUT_FAMILIES: frozenset[str] = frozenset(
    {
        "lookup.context_chat",
        "judgement.coach_context",
        "judgement.value_first",
        "computation.pace_texting",
        "computation.change_clinical",
        "user_stated.device_readout",
        "user_stated.coach",
        "unanswerable.context_chat",
        "day_summary.coach",
    }
)
