"""The sleep narrative: duration, efficiency, latency and stages of one night."""

from __future__ import annotations

from health_training.etl.clinical_types import SleepStats
from health_training.etl.narratives.wording import NarrativeParts, clock


def sleep_narrative(s: SleepStats, codes: set[str]) -> NarrativeParts:
    m, p = s.minutes, s.percent
    h, mm = divmod(s.asleep, 60)
    facts = [
        f"Sleep session {clock(s.bedtime)}-{clock(s.wake)}: {s.in_bed} min in bed, {s.asleep} min "
        f"asleep ({h} h {mm} min).",
        f"Sleep efficiency {s.efficiency}% (reference 85% or more); sleep latency {s.latency} min "
        "(reference 30 min or less).",
        f"Stages: awake {m['awake']} min ({p['awake']}% of time in bed), light {m['light']} min "
        f"({p['light']}%), deep {m['deep']} min ({p['deep']}%), REM {m['rem']} min ({p['rem']}%).",
        "Reference: adults need 7-9 h; under 7 h is short, under 5 h very short, over 10 h long; "
        "deep sleep is usually 10-25% and REM 15-25% of sleep.",
    ]
    duration = (
        "well short of the recommended 7-9 h, a level linked to impaired glucose "
        "regulation, mood and concentration."
        if "very_short_sleep" in codes
        else "below the recommended 7-9 h."
        if "short_sleep" in codes
        else "over 10 h, which can reflect sleep debt, illness or a sleep disorder."
        if "long_sleep" in codes
        else "within or near the recommended 7-9 h."
    )
    eff = (
        "Efficiency is poor, with much of the night spent awake."
        if "very_low_efficiency" in codes
        else "Efficiency is below the 85% reference, suggesting fragmented sleep."
        if "low_efficiency" in codes
        else "Efficiency meets the 85% reference."
    )
    stages = f"Deep sleep made up {p['deep']}% and REM {p['rem']}% of sleep"
    if codes & {"low_deep", "low_rem"}:
        stages += ", below their usual shares"
    say = [
        (
            0,
            f"The user slept {h} h {mm} min of {s.in_bed} min in bed ({clock(s.bedtime)} to "
            f"{clock(s.wake)}), a sleep efficiency of {s.efficiency}%.",
        ),
        (1, f"Duration was {duration}"),
        (1, eff),
        (
            1 if "long_latency" in codes else 3,
            f"Falling asleep took {s.latency} min"
            + (
                ", longer than the 30 min reference, typical of insomnia, late caffeine or screens."
                if "long_latency" in codes
                else "."
            ),
        ),
        (2, stages + "."),
    ]
    if codes & {"very_short_sleep", "short_sleep"}:
        rec = "Aim for a consistent schedule that allows 7-9 h of sleep opportunity every night."
    elif codes & {"very_low_efficiency", "low_efficiency", "long_latency"}:
        rec = (
            "Keep a regular wake time, limit caffeine after midday and screens before bed; "
            "persistent insomnia responds well to CBT-I."
        )
    elif "long_sleep" in codes:
        rec = (
            "If long sleep persists with daytime sleepiness, discuss screening for a sleep "
            "disorder or low mood with a clinician."
        )
    else:
        rec = "Keep the current sleep routine."
    return facts, [*say, (0, rec)], "Sleep within healthy range"
