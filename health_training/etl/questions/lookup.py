"""Lookup questions: one fact of the record ("What was my highest heart rate?"), answered with its
value, unit and a little context from the same record ("Your heart rate peaked at 171 bpm at
18:05."). The input is the record's input exactly as the narrative writer builds it.

`FAMILIES` maps each family to its question templates; `{what}` is the measure as the family's
register names it (`measures.py`), `{when}` a time word. `ANSWERS` holds the answer templates per
fact; their slots are fact names (the canonical value with its unit) or `<fact>__n` (the bare
number, for the first number of a range: "from 88 to 231 mg/dL").
"""

from __future__ import annotations

from random import Random

from health_training.etl.derived import share_pct
from health_training.etl.narratives.wording import plural
from health_training.etl.questions.example import Asked, Draft, Record
from health_training.etl.questions.measures import MEASURE
from health_training.etl.questions.measures_lookup import ZONES
from health_training.etl.questions.phrasing import cap, fill, when
from health_training.etl.questions.quantities import number, say, unit_of

# family -> (register of {what}, question templates)
FAMILIES: dict[str, tuple[str, ...]] = {
    "lookup.casual_short": (
        "What was my {what}{when}?",
        "What's my {what}{when}?",
        "Can you tell me my {what}{when}?",
        "Remind me what my {what} was{when}.",
        "Quick question: what was my {what}{when}?",
        "What did my {what} come out at{when}?",
        "I'd like to know my {what}{when}.",
    ),
    "lookup.clinical_formal": (
        "Please report the {what} recorded in this data.",
        "What {what} does this record show?",
        "According to the record, what was the {what}?",
        "From the summary provided, what is the {what}?",
        "Which value was documented for {what}?",
        "Kindly state the {what} for the recorded period.",
        "What is the recorded {what}?",
    ),
    "lookup.typo_texting": (
        "wats my {what}{when}",
        "hw much was my {what}{when}??",
        "whats my {what}{when} pls",
        "my {what}{when}?",
        "wat did my {what} come out at",
        "can u tell me my {what}{when}",
        "{what}{when}??",
        "yo whats the {what}",
    ),
    "lookup.context_chat": (
        "I'm keeping a log for my doctor. What was my {what}{when}?",
        "I forgot to check my app. What was my {what}{when}?",
        "My watch synced overnight. What did it say my {what} was?",
        "Just curious, what was my {what}{when}?",
        "Before I head out, can you tell me my {what}{when}?",
        "Trying to track my progress: what was my {what}{when}?",
    ),
    "lookup.context_note": (
        "My diabetes educator asked me to check. What was my {what}{when}?",
        "Filling in my health diary now: what was my {what}{when}?",
        "I'm comparing notes with a friend. What was my {what}?",
        "Getting ready for my check-up, so what was my {what}{when}?",
        "I didn't look at my app{when}. What was my {what}?",
        "For my training log, what was my {what}{when}?",
    ),
    "lookup.data_reference": (
        "Looking at this data, what is my {what}?",
        "Based on these readings, what was my {what}?",
        "In the record above, what's the {what}?",
        "Check the data and tell me my {what}.",
        "Using this summary, give me my {what}.",
        "From my numbers here, what was the {what}?",
    ),
    "lookup.imperative_short": (
        "Tell me my {what}{when}.",
        "Give me my {what}{when}.",
        "Show my {what}{when}.",
        "Just the {what}{when}, please.",
        "Need my {what}{when}.",
        "{What}{when}?",
        "Pull up my {what}{when}.",
    ),
}
_REGISTER = {
    "lookup.casual_short": ("casual",),
    "lookup.clinical_formal": ("clinical",),
    "lookup.typo_texting": ("texting",),
    "lookup.context_chat": ("casual",),
    "lookup.context_note": ("casual",),
    "lookup.data_reference": ("casual", "clinical"),
    "lookup.imperative_short": ("casual", "texting"),
}

ANSWERS: dict[str, tuple[str, ...]] = {
    "mean_glucose_mg_dl": (
        "Your average glucose was {mean_glucose_mg_dl}, with readings from "
        "{min_glucose_mg_dl__n} to {max_glucose_mg_dl}.",
        "Glucose averaged {mean_glucose_mg_dl} over the day.",
        "{mean_glucose_mg_dl} was your mean glucose for the day, with {time_in_range_pct} of "
        "readings in range.",
    ),
    "time_in_range_pct": (
        "Your time in range was {time_in_range_pct}, the share of readings within the "
        "70-180 mg/dL target range.",
        "Time in range came to {time_in_range_pct} for the day.",
    ),
    "time_below_range_pct": (
        "You spent {time_below_range_pct} of the time low, below 70 mg/dL.",
        "Your time spent low was {time_below_range_pct} of readings, counting anything below "
        "70 mg/dL.",
    ),
    "time_above_range_pct": (
        "You spent {time_above_range_pct} of the time high, above 180 mg/dL.",
        "Your time spent high was {time_above_range_pct} of readings, counting anything above "
        "180 mg/dL.",
    ),
    "glucose_cv_pct": (
        "Your glucose CV was {glucose_cv_pct}, with an SD of {glucose_sd_mg_dl}.",
        "Your glucose CV was {glucose_cv_pct}, a measure of how much glucose swung around its "
        "average.",
    ),
    "max_glucose_mg_dl": (
        "Your highest glucose reading was {max_glucose_mg_dl}.",
        "Glucose peaked at {max_glucose_mg_dl}.",
        "Your glucose ranged from {min_glucose_mg_dl__n} to {max_glucose_mg_dl}.",
    ),
    "min_glucose_mg_dl": (
        "Your lowest glucose reading was {min_glucose_mg_dl}.",
        "The lowest reading of the day was {min_glucose_mg_dl}.",
        "Your glucose ranged from {min_glucose_mg_dl__n} to {max_glucose_mg_dl}.",
    ),
    "gmi_pct": (
        "Your GMI was {gmi_pct}, an estimate of the A1c this glucose pattern would give.",
        "Your GMI came out at {gmi_pct}.",
    ),
    "hypoglycemic_events": (
        "You had {hypoglycemic_events__phrase} of 15 min or more below 70 mg/dL.",
        "The record shows {hypoglycemic_events__phrase} (15 min or more below 70 mg/dL).",
    ),
    "hyperglycemic_events": (
        "You had {hyperglycemic_events__phrase} of 15 min or more above 250 mg/dL.",
        "The record shows {hyperglycemic_events__phrase} (15 min or more above 250 mg/dL).",
    ),
    "resting_hr_bpm": (
        "Your resting heart rate was {resting_hr_bpm}.",
        "Your resting heart rate was {resting_hr_bpm}, and your average was {mean_hr_bpm}.",
        "At rest your heart rate was {resting_hr_bpm}.",
    ),
    "mean_hr_bpm": (
        "Your heart rate averaged {mean_hr_bpm} over the day.",
        "Your average heart rate was {mean_hr_bpm}, with a resting rate of {resting_hr_bpm}.",
    ),
    "max_hr_bpm": (
        "Your heart rate peaked at {max_hr_bpm} at {max_hr_time}.",
        "Your highest heart rate was {max_hr_bpm}, reached at {max_hr_time}.",
        "The peak heart rate was {max_hr_bpm}, at {max_hr_time}.",
    ),
    # "20 min in zone 4": the evaluation reads a zone's minutes by the zone written after them.
    **{
        f"zone{z}_min": (
            f"You spent {{zone{z}_min}} in zone {z}.",
            f"Your heart rate spent {{zone{z}_min}} in zone {z} that day.",
        )
        for z in ZONES
    },
    "mean_rmssd_ms": (
        "Your HRV averaged {mean_rmssd_ms} RMSSD over the day.",
        "Your average HRV was {mean_rmssd_ms}, ranging from {min_rmssd_ms__n} to {max_rmssd_ms}.",
    ),
    "min_rmssd_ms": (
        "Your HRV was lowest at {min_rmssd_ms}, at {min_rmssd_time}.",
        "HRV was at its lowest, {min_rmssd_ms}, at {min_rmssd_time}.",
    ),
    "max_rmssd_ms": (
        "Your HRV was highest at {max_rmssd_ms}, at {max_rmssd_time}.",
        "HRV was at its highest, {max_rmssd_ms}, at {max_rmssd_time}.",
    ),
    "asleep_min": (
        "You slept {asleep_min}, out of {time_in_bed_min} in bed.",
        "Total sleep was {asleep_min}, from {bedtime} to {wake_time}.",
        "You were asleep for {asleep_min}, a sleep efficiency of {sleep_efficiency_pct}.",
    ),
    "time_in_bed_min": (
        "You were in bed for {time_in_bed_min} ({bedtime} to {wake_time}).",
        "Time in bed was {time_in_bed_min}, of which you slept {asleep_min}.",
    ),
    "sleep_efficiency_pct": (
        "Your sleep efficiency was {sleep_efficiency_pct}.",
        "Your sleep efficiency was {sleep_efficiency_pct}, meaning you were asleep for that share "
        "of your time in bed.",
    ),
    "sleep_latency_min": (
        "It took you {sleep_latency_min} to fall asleep.",
        "Your sleep latency was {sleep_latency_min}.",
    ),
    "awake_min": (
        "You spent {awake_min} awake during your time in bed.",
        "Time awake came to {awake_min} of your {time_in_bed_min} in bed.",
    ),
    "deep_min": (
        "You got {deep_min} of deep sleep, {deep_pct} of your time asleep.",
        "Deep sleep came to {deep_min} ({deep_pct} of sleep).",
    ),
    "rem_min": (
        "You got {rem_min} of REM sleep, {rem_pct} of your time asleep.",
        "REM sleep came to {rem_min} ({rem_pct} of sleep).",
    ),
    "bedtime": (
        "You went to bed at {bedtime} and woke at {wake_time}.",
        "Your bedtime was {bedtime}.",
    ),
    "wake_time": (
        "You woke up at {wake_time}.",
        "You were in bed until {wake_time}, having gone to bed at {bedtime}.",
    ),
    "total_steps": (
        "You took {total_steps}, {steps_pct_of_goal} of your {step_goal} goal.",
        "Your step total was {total_steps}.",
        "You walked {total_steps} that day.",
    ),
    "peak_hour_steps": (
        "Your steps peaked at {peak_hour} with {peak_hour_steps}, {peak_hour_steps__share} of the "
        "day.",
        "Your most active hour was {peak_hour}, with {peak_hour_steps} ({peak_hour_steps__share} of "
        "the day).",
    ),
    "steps_pct_of_goal": (
        "You reached {steps_pct_of_goal} of your {step_goal} goal, with {total_steps}.",
        "Your {total_steps} came to {steps_pct_of_goal} of the {step_goal} goal.",
    ),
    "total_active_kcal": (
        "You burned {total_active_kcal} of active energy, {kcal_pct_of_goal} of the {kcal_goal} "
        "goal.",
        "Active energy came to {total_active_kcal} for the day.",
        "Your active calorie total was {total_active_kcal}.",
    ),
    "peak_hour_kcal": (
        "Active energy peaked at {peak_hour} with {peak_hour_kcal}, {peak_hour_kcal__share} of the "
        "day.",
        "Your most active hour was {peak_hour}, with {peak_hour_kcal} ({peak_hour_kcal__share} of "
        "the day).",
    ),
    "kcal_pct_of_goal": (
        "You reached {kcal_pct_of_goal} of your {kcal_goal} goal, with {total_active_kcal}.",
        "Your {total_active_kcal} came to {kcal_pct_of_goal} of the {kcal_goal} goal.",
    ),
}
# Facts drawn as one option, so that a heart-rate record's look-ups are not mostly zones.
_DRAWN_AS = {f"zone{z}_min": "zone" for z in ZONES}


def slots_of(facts: dict[str, float]) -> dict[str, str]:
    """Every fact as the answer writes it, plus `<fact>__n` bare numbers and count phrases."""
    slots = {name: say(name, value) for name, value in facts.items()}
    slots |= {f"{name}__n": number(value) for name, value in facts.items()}
    # The peak hour's share of the day, as its record states it: a look-up of the hour gives it
    # as context, so that a share question answered as a look-up still states the share.
    totals = (("peak_hour_steps", "total_steps"), ("peak_hour_kcal", "total_active_kcal"))
    for peak, total in totals:
        if peak in facts and facts.get(total, 0) > 0:
            slots[f"{peak}__share"] = f"{share_pct(facts[peak], facts[total])}%"
    for count in ("hypoglycemic_events", "hyperglycemic_events"):
        if count in facts:
            slots[f"{count}__phrase"] = plural(
                int(facts[count]), count.replace("_events", " event")
            )
    return slots


def draft(record: Record, rng: Random) -> Draft | None:
    facts = record.facts
    record_type = record.batch.record_type
    slots = slots_of(facts)
    options = [
        f
        for f in ANSWERS
        if f in facts
        and MEASURE[f].record_type == record_type
        and (f"{f}__share" in slots or not f.startswith("peak_hour_"))  # a day of none: no peak
    ]
    if not options:
        return None
    drawn = rng.choice(sorted({_DRAWN_AS.get(f, f) for f in options}))
    fact = rng.choice([f for f in options if _DRAWN_AS.get(f, f) == drawn])
    family = rng.choice(sorted(FAMILIES))
    measure = MEASURE[fact]
    what = rng.choice(measure.names(rng.choice(_REGISTER[family])))
    template = rng.choice(FAMILIES[family])
    question = fill(template, what=what, What=cap(what), when=when(record_type, rng))
    answer = rng.choice(ANSWERS[fact]).format(**slots)
    asked = Asked(fact, facts[fact], unit_of(fact))
    return Draft(family, question, record.input, answer, dict(facts), (asked,))
