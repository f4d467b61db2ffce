"""The computation kind's answer wording: the subject of a change answer, and the shares a record
can answer (which facts are part and whole, how a question names them, the answer sentence)."""

from __future__ import annotations

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
# fact's name, the answer). The answer names part and whole with their statement cues.
SHARES: dict[str, tuple[str, str, str, str, str, str]] = {
    "deep": (
        "deep_min",
        "asleep_min",
        "was deep sleep",
        "sleep",
        "share_deep_of_asleep_pct",
        "Deep sleep was {deep_min} of {asleep_min__n} min asleep, which is {share}.",
    ),
    "rem": (
        "rem_min",
        "asleep_min",
        "was REM sleep",
        "sleep",
        "share_rem_of_asleep_pct",
        "REM sleep was {rem_min} of {asleep_min__n} min asleep, which is {share}.",
    ),
    "asleep": (
        "asleep_min",
        "time_in_bed_min",
        "was spent actually asleep",
        "time in bed",
        "share_asleep_of_in_bed_pct",
        "You were asleep {asleep_min__n} min of {time_in_bed_min__n} min in bed, which is {share}.",
    ),
    "steps_peak": (
        "peak_hour_steps",
        "total_steps",
        "came in my busiest hour",
        "steps",
        "share_peak_hour_steps_pct",
        "Your busiest hour, {peak_hour}, had {peak_hour_steps} of your {total_steps}, which is "
        "{share}.",
    ),
    "kcal_peak": (
        "peak_hour_kcal",
        "total_active_kcal",
        "came in my most active hour",
        "active calories",
        "share_peak_hour_kcal_pct",
        "Your most active hour, {peak_hour}, had {peak_hour_kcal} of your {total_active_kcal}, "
        "which is {share}.",
    ),
}
