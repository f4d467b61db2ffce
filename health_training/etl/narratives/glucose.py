"""The glucose narrative: a day of CGM statistics as `input` facts and an interpreted `output`."""

from __future__ import annotations

from health_training.etl.clinical_types import GlucoseStats
from health_training.etl.narratives.wording import NarrativeParts, plural


def glucose_narrative(s: GlucoseStats, codes: set[str]) -> NarrativeParts:
    facts = [
        f"Mean glucose {s.mean} mg/dL (range {s.low}-{s.high} mg/dL), SD {s.sd} mg/dL, "
        f"CV {s.cv}% (stable at 36% or below).",
        f"Time in range 70-180 mg/dL: {s.tir}% (target above 70%); below 70 mg/dL: {s.tbr}% "
        f"(target below 4%); above 180 mg/dL: {s.tar}%.",
        f"Hypoglycemic events (below 70 mg/dL for 15 min or more): {s.hypo_events}. "
        f"Hyperglycemic events (above 250 mg/dL for 15 min or more): {s.hyper_events}.",
        f"Glucose management indicator (GMI) {s.gmi:.1f}%.",
    ]
    say = [
        (
            0,
            f"Glucose averaged {s.mean} mg/dL (range {s.low}-{s.high} mg/dL), with {s.tir}% "
            f"of readings in the 70-180 mg/dL target range, {s.tbr}% below 70 mg/dL and "
            f"{s.tar}% above 180 mg/dL.",
        )
    ]
    if s.tir > 70:
        low = bool(codes & {"hypoglycemia", "time_below_range"})
        say.append(
            (
                2,
                "Time in range meets the 70% target, "
                + ("but the time spent low outweighs it." if low else "indicating good control."),
            )
        )
    else:
        gap = "far below" if "very_low_tir" in codes else "short of"
        say.append((1, f"Time in range is {gap} the 70% target, so glycemic control needs work."))
    if "hypoglycemia" in codes:
        say.append(
            (
                0,
                f"{plural(s.hypo_events, 'hypoglycemic event')} of 15 min or more below "
                "70 mg/dL occurred, the most urgent finding of the day.",
            )
        )
    elif "time_below_range" in codes:
        say.append(
            (
                0,
                f"No sustained event was detected, but {s.tbr}% of readings were below "
                "70 mg/dL, above the 4% target.",
            )
        )
    if "unstable" in codes:
        say.append(
            (
                1,
                f"Variability was high (CV {s.cv}%, above 36%), a marker of unstable "
                "glucose and of hypoglycemia risk.",
            )
        )
    else:
        say.append((2, f"Variability was acceptable, with a CV of {s.cv}%."))
    if "hyperglycemia" in codes:
        say.append(
            (
                1,
                f"{plural(s.hyper_events, 'episode')} above 250 mg/dL lasted 15 min or more, "
                "consistent with post-meal or missed-dose excursions.",
            )
        )
    say.append(
        (
            3,
            f"The GMI of {s.gmi:.1f}% estimates the glycated haemoglobin this pattern "
            "would produce if sustained.",
        )
    )
    if codes & {"hypoglycemia", "time_below_range"}:
        rec = (
            "Review hypoglycemia treatment and the timing of insulin or sulfonylurea doses with "
            "the care team, and keep fast-acting carbohydrate at hand."
        )
    elif codes & {"very_low_tir", "low_tir", "hyperglycemia", "high_mean"}:
        rec = (
            "Review meal composition, medication timing and post-meal activity with the "
            "diabetes care team to raise time in range."
        )
    elif "unstable" in codes:
        rec = (
            "Regular meal timing and matching insulin to carbohydrate can reduce the swings; "
            "discuss the pattern at the next review."
        )
    else:
        rec = "Continue the current routine; periodic CGM review remains useful."
    return facts, [*say, (0, rec)], "Glucose within target range"
