"""The computation kind's answer wording: the subject of a change answer, and the shares a record
can answer (which facts are part and whole, how a question names them, the answer sentence)."""

from __future__ import annotations


def change_words(diff: float) -> tuple[str, str]:
    """("up", "a rise") or ("down", "a drop"): how a change answer and the computed line word a
    nonzero change, so the model copies the line's words into the answer."""
    return ("up", "a rise") if diff > 0 else ("down", "a drop")


# The subject of a change answer, before its colon.
CHANGE_WHAT: dict[str, str] = {
    "mean_glucose_mg_dl": "average glucose",
    "resting_hr_bpm": "resting heart rate",
    "mean_rmssd_ms": "average HRV",
    "asleep_min": "total sleep",
    "total_steps": "steps",
    "total_active_kcal": "active calories",
}

# key -> (part fact, whole fact, the part in a question, the whole in a question, the computed
# fact's name, the answer). The answer leads with the share: run 10 to 15 answered "calculate
# the proportion of steps that came in my busiest hour" with the peak-hour look-up ("Your busiest
# hour was 08:00, with 1,467 steps"), which began as this answer did and stopped before the share.
SHARES: dict[str, tuple[str, str, str, str, str, str]] = {
    "deep": (
        "deep_min",
        "asleep_min",
        "was deep sleep",
        "sleep",
        "share_deep_of_asleep_pct",
        "{share} of your sleep was deep sleep: {deep_min} of {asleep_min__n} min asleep.",
    ),
    "rem": (
        "rem_min",
        "asleep_min",
        "was REM sleep",
        "sleep",
        "share_rem_of_asleep_pct",
        "{share} of your sleep was REM sleep: {rem_min} of {asleep_min__n} min asleep.",
    ),
    "asleep": (
        "asleep_min",
        "time_in_bed_min",
        "was spent actually asleep",
        "time in bed",
        "share_asleep_of_in_bed_pct",
        "{share} of your time in bed was spent asleep: {asleep_min__n} min of {time_in_bed_min__n} "
        "min in bed.",
    ),
    "steps_peak": (
        "peak_hour_steps",
        "total_steps",
        "came in my busiest hour",
        "steps",
        "share_peak_hour_steps_pct",
        "{share} of your steps came in your busiest hour, {peak_hour}: {peak_hour_steps} of your "
        "{total_steps}.",
    ),
    "kcal_peak": (
        "peak_hour_kcal",
        "total_active_kcal",
        "came in my most active hour",
        "active calories",
        "share_peak_hour_kcal_pct",
        "{share} of your active calories came in your most active hour, {peak_hour}: "
        "{peak_hour_kcal} of your {total_active_kcal}.",
    ),
}
