"""Heart narratives: resting rate, peak and training zones; heart rate variability (RMSSD)."""

from __future__ import annotations

from health_training.etl.clinical_types import HeartRateStats, HrvStats
from health_training.etl.narratives.wording import NarrativeParts, clock


def heart_rate_narrative(s: HeartRateStats, codes: set[str]) -> NarrativeParts:
    z = s.zone_minutes
    facts = [
        f"Resting heart rate {s.resting} bpm (5th percentile), mean {s.mean} bpm, maximum "
        f"{s.peak} bpm at {clock(s.peak_at)}.",
        f"Minutes per zone (% of a 190 bpm maximum): zone 1 {z[0]} min, zone 2 {z[1]} min, "
        f"zone 3 {z[2]} min, zone 4 {z[3]} min, zone 5 {z[4]} min.",
        "Reference: resting heart rate 40-85 bpm; above 100 bpm is tachycardic.",
    ]
    judged = {
        "tachycardia": "in the tachycardic range (above 100 bpm), which warrants clinical review.",
        "elevated_resting": "above the 40-85 bpm reference, which can reflect deconditioning, "
        "stress, dehydration, illness or short sleep.",
        "bradycardia": "below 40 bpm, common in endurance athletes but otherwise worth reviewing "
        "for conduction problems or medication effects.",
    }
    key = next((c for c in judged if c in codes), "")
    say = [
        (
            0,
            f"Resting heart rate was {s.resting} bpm, "
            + judged.get(key, "within the 40-85 bpm reference range."),
        ),
        (
            1,
            f"Heart rate averaged {s.mean} bpm and peaked at {s.peak} bpm at "
            f"{clock(s.peak_at)}."
            + (
                " The peak exceeded the 190 bpm reference maximum: maximal effort or a sensor "
                "artefact."
                if "above_max" in codes
                else ""
            ),
        ),
        (
            1,
            f"The day included {z[1]} min in zone 2, {z[2]} min in zone 3, {z[3]} min in zone 4 "
            f"and {z[4]} min in zone 5"
            + (
                ", showing sustained vigorous training."
                if "vigorous" in codes
                else ", so there was little moderate-intensity activity."
                if "inactive" in codes
                else "."
            ),
        ),
    ]
    recs = {
        "tachycardia": "Recheck heart rate at rest and seek medical review if it stays above "
        "100 bpm or comes with palpitations, dizziness or breathlessness.",
        "elevated_resting": "Prioritise sleep, hydration and regular aerobic activity, and watch "
        "whether resting heart rate settles over the coming week.",
        "bradycardia": "Seek medical review if there is dizziness or fainting; in trained athletes "
        "a low resting rate is usually benign.",
        "vigorous": "Balance hard sessions with recovery days to avoid overreaching.",
        "inactive": "Brisk walking that reaches zone 2 would improve cardiovascular fitness.",
    }
    rec = next((recs[c] for c in recs if c in codes), "Maintain the current activity pattern.")
    return facts, [*say, (0, rec)], "Heart rate within normal limits"


def hrv_narrative(s: HrvStats, codes: set[str]) -> NarrativeParts:
    facts = [
        f"Mean RMSSD {s.mean} ms (lowest {s.low} ms at {clock(s.low_at)}, highest {s.high} "
        f"ms at {clock(s.high_at)}); linear trend over the day {s.slope:+.1f} ms per hour.",
        "Reference: RMSSD below 20 ms is low, 20-30 ms reduced.",
    ]
    level = {
        "low_hrv": "This is low (below 20 ms), indicating reduced parasympathetic activity, as "
        "seen with stress, illness, overtraining, poor sleep or cardiometabolic disease.",
        "reduced_hrv": "This is in the reduced 20-30 ms band, which often accompanies fatigue, "
        "stress or older age.",
        "high_hrv": "This is a high value, consistent with good recovery and autonomic fitness.",
    }
    key = next((c for c in level if c in codes), "")
    trend = (
        f"HRV fell by about {abs(s.slope):.1f} ms per hour over the day, a pattern that can "
        "reflect accumulating stress or an emerging illness."
        if "declining_hrv" in codes
        else f"The trend of {s.slope:+.1f} ms per hour does not suggest a worrying decline."
    )
    say = [
        (
            0,
            f"Heart rate variability averaged {s.mean} ms RMSSD, ranging from {s.low} to "
            f"{s.high} ms across the day.",
        ),
        (1, level.get(key, "This lies in the usual adult range.")),
        (1, trend),
    ]
    if codes & {"low_hrv", "reduced_hrv"}:
        rec = (
            "Prioritise sleep, limit alcohol and late training, and review persistently low "
            "values with a clinician, especially with other symptoms."
        )
    elif "declining_hrv" in codes:
        rec = "Consider a lighter day and an earlier night, and check whether HRV recovers."
    else:
        rec = "Keep the current balance of training and recovery."
    return facts, [*say, (0, rec)], "HRV within expected range"
