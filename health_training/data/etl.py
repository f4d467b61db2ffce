"""The ETL engine's narrative writer ("Module 4"): one raw batch in, one JSONL training example out.

A raw batch is one user x one record type x one day (sleep: one night). `write_example` computes the
statistics (`clinical.analyze`), states them in `input`, interprets them in `output` quoting only
numbers that `input` shows, and derives quality, complexity and relevance from the data, never at
random. `append_to_journal` adds examples to a monthly journal without duplicating any; the caller
reads and writes the file at `journal_key(...)`.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson

from health_training.data.clinical import (
    Analysis,
    DailyTotalStats,
    GenericStats,
    GlucoseStats,
    HeartRateStats,
    HrvStats,
    Reading,
    SleepStage,
    SleepStats,
    analyze,
)
from health_training.data.domains import category_for
from health_training.data.facts import facts_of
from health_training.data.records import COMPLEXITY_LEVELS, RELEVANCE_LEVELS

__all__ = [
    "INSTRUCTIONS",
    "AppendResult",
    "RawBatch",
    "Reading",
    "SleepStage",
    "append_to_journal",
    "content_hash",
    "describe",
    "journal_key",
    "score",
    "write_example",
]

MAX_OUTPUT_CHARS = 900


@dataclass(frozen=True, slots=True)
class RawBatch:
    """One user x one record type x one day of raw readings, as the ETL engine reads it."""

    user_id: str
    record_type: str
    day: date  # sleep: the date the night starts
    readings: tuple[Reading, ...] | tuple[SleepStage, ...]
    source_key: str
    note: str | None = None  # free text from the user; may hold PHI, copied verbatim into `input`


@dataclass(frozen=True, slots=True)
class Scores:
    quality_score: float
    complexity_level: str
    clinical_relevance: str


@dataclass(frozen=True, slots=True)
class AppendResult:
    data: bytes
    added: int
    skipped: int


INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "BloodGlucoseRecord": (
        "Interpret this day of continuous glucose monitoring data and explain what it means for "
        "glycemic control.",
        "You are a diabetes educator. Review the CGM summary below and describe the key patterns, "
        "risks and next steps.",
        "Analyze the following glucose readings: assess time in range, variability and "
        "hypoglycemia risk.",
        "Write a short clinical narrative about this user's glucose control from the CGM "
        "statistics provided.",
        "Summarize the clinically relevant findings in this daily blood glucose record and give "
        "one practical recommendation.",
    ),
    "HeartRateRecord": (
        "Interpret this day of wearable heart-rate data, commenting on resting rate and exercise "
        "intensity.",
        "As a cardiology-aware health coach, explain what the following heart-rate summary shows.",
        "Review the heart-rate statistics below and identify anything clinically relevant.",
        "Write a brief clinical narrative about this user's heart rate, training zones and "
        "recovery.",
    ),
    "HeartRateVariabilityRmssdRecord": (
        "Interpret this day of heart rate variability (RMSSD) data and what it says about "
        "recovery and stress.",
        "Explain the autonomic health implications of the HRV summary below.",
        "Review these RMSSD measurements and describe the level, the trend and any concern.",
        "As a sports-medicine clinician, write a short assessment of this user's HRV for the day.",
    ),
    "SleepSessionRecord": (
        "Interpret this night of sleep data and assess sleep quantity and quality.",
        "You are a sleep specialist. Review the sleep session below and explain the key findings.",
        "Analyze the following sleep stages, efficiency and latency and give a recommendation.",
        "Write a brief clinical narrative about this user's night of sleep.",
    ),
    "StepsRecord": (
        "Interpret this day of step data and assess the user's physical activity.",
        "Review the daily step summary below and explain its health relevance.",
        "As a physical-activity coach, comment on this user's steps against their goal.",
        "Write a short clinical narrative about this user's daily movement pattern.",
    ),
    "ActiveCaloriesBurnedRecord": (
        "Interpret this day of active energy expenditure data.",
        "Review the active-calorie summary below and explain what it says about the user's day.",
        "As an exercise physiologist, assess this user's active calories against their goal.",
        "Write a short clinical narrative about this user's activity energy expenditure.",
    ),
    "": (  # record types the writer does not know
        "Summarize the following wearable measurements.",
        "Describe what this wearable record shows and what can and cannot be concluded from it.",
        "Review the measurements below and say whether any interpretation is possible.",
        "Write a short, cautious summary of this health record.",
    ),
}
DISCLAIMER = (
    "This interpretation is based on consumer wearable data and does not replace "
    "assessment by a clinician."
)


@dataclass(frozen=True, slots=True)
class Text:
    facts: list[str]  # sentences of `input`
    narrative: list[tuple[int, str]]  # (rank: 0 keep, higher is dropped first, sentence)
    default_insight: str  # for clinical_insights when there is no finding


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def _glucose(s: GlucoseStats, codes: set[str]) -> tuple[list[str], list[tuple[int, str]], str]:
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
                f"{_n(s.hypo_events, 'hypoglycemic event')} of 15 min or more below "
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
                f"{_n(s.hyper_events, 'episode')} above 250 mg/dL lasted 15 min or more, "
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


def _heart_rate(s: HeartRateStats, codes: set[str]) -> tuple[list[str], list[tuple[int, str]], str]:
    z = s.zone_minutes
    facts = [
        f"Resting heart rate {s.resting} bpm (5th percentile), mean {s.mean} bpm, maximum "
        f"{s.peak} bpm at {_hhmm(s.peak_at)}.",
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
            f"{_hhmm(s.peak_at)}."
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


def _hrv(s: HrvStats, codes: set[str]) -> tuple[list[str], list[tuple[int, str]], str]:
    facts = [
        f"Mean RMSSD {s.mean} ms (lowest {s.low} ms at {_hhmm(s.low_at)}, highest {s.high} "
        f"ms at {_hhmm(s.high_at)}); linear trend over the day {s.slope:+.1f} ms per hour.",
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


def _sleep(s: SleepStats, codes: set[str]) -> tuple[list[str], list[tuple[int, str]], str]:
    m, p = s.minutes, s.percent
    h, mm = divmod(s.asleep, 60)
    facts = [
        f"Sleep session {_hhmm(s.bedtime)}-{_hhmm(s.wake)}: {s.in_bed} min in bed, {s.asleep} min "
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
            f"The user slept {h} h {mm} min of {s.in_bed} min in bed ({_hhmm(s.bedtime)} to "
            f"{_hhmm(s.wake)}), a sleep efficiency of {s.efficiency}%.",
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


def _daily(
    s: DailyTotalStats, codes: set[str], steps: bool
) -> tuple[list[str], list[tuple[int, str]], str]:
    if steps:
        total, goal, peak = f"{s.total:,} steps", f"{s.goal:,} steps", f"{s.peak_value:,} steps"
        facts = [
            f"Total {total} against a goal of {goal} ({s.percent_of_goal}% of goal).",
            f"Most active hour {s.peak_hour:02d}:00 with {peak}; {s.active_hours} hours with "
            "250 or more steps.",
            "Reference: under 2,500 steps a day is very low, under 5,000 sedentary, under "
            "7,500 low.",
        ]
    else:
        total, goal, peak = f"{s.total} kcal", f"{s.goal} kcal", f"{s.peak_value} kcal"
        facts = [
            f"Total active energy {total} against a goal of {goal} ({s.percent_of_goal}% of goal).",
            f"Peak hour {s.peak_hour:02d}:00 with {peak}; {s.active_hours} hours with 30 kcal "
            "or more.",
            "Reference: under 40% of goal is low; above 300% of goal is very high.",
        ]
    judged = {
        "very_sedentary": "This is a very low activity level (fewer than 2,500 steps), which, if "
        "habitual, is linked to cardiometabolic risk and deconditioning.",
        "sedentary": "This is in the sedentary range (fewer than 5,000 steps a day).",
        "low_active": "This is in the low-active range (under 7,500 steps a day); more daily "
        "movement lowers cardiometabolic risk.",
        "low_expenditure": "This is low (under 40% of goal), consistent with a mostly sedentary "
        "day or missing wear time.",
        "very_high_expenditure": "Expenditure above 300% of goal suggests prolonged endurance "
        "work; energy and fluid intake should match it.",
        "goal_met": "The daily goal was met, reflecting a physically active day.",
    }
    key = next((c for c in judged if c in codes), "")
    active = "250 or more steps" if steps else "30 kcal or more"
    say = [
        (0, f"The day's total was {total}, {s.percent_of_goal}% of the {goal} goal."),
        (1, judged.get(key, "Activity was moderate but short of the goal.")),
        (
            1,
            f"Activity peaked at {s.peak_hour:02d}:00 with {peak}, and {s.active_hours} hours "
            f"reached {active}"
            + (", so most of the day was spent sitting." if "few_active_hours" in codes else "."),
        ),
    ]
    if codes & {"very_sedentary", "sedentary", "low_active", "low_expenditure"}:
        rec = (
            "Short walks after meals and breaking up sitting time every hour are easy ways to "
            "raise daily activity."
        )
    elif "very_high_expenditure" in codes:
        rec = "Plan recovery, carbohydrate and fluid intake around long training days."
    elif "goal_met" in codes:
        rec = "Keep the habit and vary intensity across the week."
    else:
        rec = "A daily brisk walk would close much of the gap to the goal."
    return facts, [*say, (0, rec)], "Activity within expected range"


def _generic(s: GenericStats, n: int) -> tuple[list[str], list[tuple[int, str]], str]:
    facts = [f"Mean value {s.mean}, minimum {s.low}, maximum {s.high} (unit not specified)."]
    say = [
        (
            0,
            f"This record type is not one the clinical writer knows, so the values ({n} in "
            f"all) are summarised without interpretation: mean {s.mean}, range {s.low} to "
            f"{s.high}.",
        ),
        (
            0,
            "Without a known unit and reference range no clinical judgement is made, and the "
            "values should be read alongside the device's documentation.",
        ),
    ]
    rec = "Map this record type to a known clinical domain before relying on it for decisions."
    return facts, [*say, (0, rec)], "Record type not interpreted"


def describe(record_type: str, analysis: Analysis) -> Text:
    """Facts for `input` and ranked narrative sentences for `output`, from the same numbers."""
    s, n, bad = analysis.stats, analysis.readings, analysis.excluded
    codes = {f.code for f in analysis.findings}
    if record_type == "SleepSessionRecord":
        head = f"Readings: {_n(n, 'stage segment')}"
    elif record_type == "BloodGlucoseRecord" and isinstance(s, GlucoseStats):
        head = f"Readings: {n} CGM values at {s.interval}-minute intervals"
    elif record_type == "HeartRateRecord" and isinstance(s, HeartRateStats):
        head = f"Readings: {n} heart-rate samples at {s.interval}-minute intervals"
    elif isinstance(s, DailyTotalStats):
        head = f"Readings: {n} values covering {s.hours} hours"
    else:
        head = f"Readings: {_n(n, 'value')}"
    head += f"; {bad} implausible excluded." if bad else "."
    if isinstance(s, GlucoseStats):
        facts, say, default = _glucose(s, codes)
    elif isinstance(s, HeartRateStats):
        facts, say, default = _heart_rate(s, codes)
    elif isinstance(s, HrvStats):
        facts, say, default = _hrv(s, codes)
    elif isinstance(s, SleepStats):
        facts, say, default = _sleep(s, codes)
    elif isinstance(s, DailyTotalStats):
        facts, say, default = _daily(s, codes, record_type == "StepsRecord")
    elif isinstance(s, GenericStats):
        facts, say, default = _generic(s, n)
    else:
        facts = ["No usable values remained after removing implausible ones."]
        got = f"None of the {n} readings" if n else "No reading"
        say = [
            (
                0,
                f"{got} for this day passed the plausibility checks, so no clinical "
                "interpretation is possible and nothing should be inferred from it.",
            ),
            (
                0,
                "Check sensor placement, wear time and device synchronisation, then review "
                "the next day's data before drawing conclusions.",
            ),
        ]
        default = "No usable readings"
    if bad and s is not None:
        say.append(
            (
                3,
                f"{_n(bad, 'implausible value')} outside the physiological range "
                f"{'was' if bad == 1 else 'were'} excluded as sensor error.",
            )
        )
    return Text([head, *facts], [*say, (2, DISCLAIMER)], default)


def score(analysis: Analysis) -> Scores:
    """Quality from coverage, completeness and plausibility; levels from the findings."""
    n = analysis.readings
    plausible = (n - analysis.excluded) / n if n else 0.0
    # Squared plausibility: a day with many sensor errors is suspect beyond the values dropped.
    quality = (0.6 * analysis.coverage + 0.4 * analysis.completeness) * plausible**2
    weight = sum((0.5, 1.0, 2.0)[f.severity] for f in analysis.findings)
    complexity = 0 if weight < 1 else 1 if weight < 3 else 2
    severity = max((f.severity for f in analysis.findings), default=0)
    return Scores(round(quality, 3), COMPLEXITY_LEVELS[complexity], RELEVANCE_LEVELS[severity])


def _fit(sentences: list[tuple[int, str]], limit: int) -> str:
    """Join sentences; while too long, drop the least important (highest rank, latest first)."""
    kept = list(sentences)
    while len(kept) > 1 and sum(len(s) + 1 for _, s in kept) - 1 > limit:
        worst = max(range(len(kept)), key=lambda i: (kept[i][0], i))
        del kept[worst]
    return " ".join(s for _, s in kept)


def content_hash(instruction: str, input_: str, output: str, source_key: str) -> str:
    """SHA-256 of the canonical (sorted-key) JSON of the example's text and its source."""
    doc = {"instruction": instruction, "input": input_, "output": output, "source_key": source_key}
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


@lru_cache(maxsize=256)  # a run stamps thousands of examples with the same few times
def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:  # naive times are taken as UTC, as the engine writes them
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_example(
    batch: RawBatch, *, processed_at: datetime, category_map: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The JSONL record the ETL engine writes for one raw batch."""
    analysis = analyze(batch.record_type, batch.readings)
    text = describe(batch.record_type, analysis)
    label = "Night" if batch.record_type == "SleepSessionRecord" else "Date"
    facts = [
        f"Record type: {batch.record_type}.",
        f"{label}: {batch.day.isoformat()}.",
        *text.facts,
    ]
    if batch.note:
        facts.append(f"User note: {batch.note}")
    input_ = " ".join(facts)
    output = _fit(text.narrative, MAX_OUTPUT_CHARS)
    phrasings = INSTRUCTIONS.get(batch.record_type, INSTRUCTIONS[""])
    # Chosen from the content, not at random, so a rerun writes the same bytes.
    instruction = phrasings[zlib.crc32(batch.source_key.encode()) % len(phrasings)]
    scores = score(analysis)
    insights = [f.insight for f in analysis.findings] or [text.default_insight]
    return {
        "instruction": instruction,
        "input": input_,
        "output": output,
        "metadata": {
            "source_key": batch.source_key,
            "record_type": batch.record_type,
            "training_category": category_for(batch.record_type, category_map),
            "complexity_level": scores.complexity_level,
            "clinical_relevance": scores.clinical_relevance,
            "records_processed": analysis.readings,
            "quality_score": scores.quality_score,
            "clinical_insights": insights,
            # What each number of the narrative reports: evaluation checks answers against it.
            "facts": facts_of(analysis.stats, batch.record_type, analysis.excluded),
            "processing_timestamp": _timestamp(processed_at),
            "user_id": batch.user_id,
            "content_hash": content_hash(instruction, input_, output, batch.source_key),
        },
    }


def journal_key(domain: str, year: int, month: int) -> str:
    """Where the ETL engine files a domain's month of examples."""
    return f"training/{domain}/{year:04d}/{month:02d}/health_journal_{year:04d}_{month:02d}.jsonl"


def _line_key(line: bytes) -> str:
    """metadata.content_hash when the line carries one, else the SHA-256 of the line's bytes."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        meta = doc.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("content_hash"), str):
            return meta["content_hash"]
    return hashlib.sha256(line).hexdigest()


def _lines(records: Iterable[Mapping[str, Any] | bytes]) -> Iterable[tuple[str, bytes]]:
    for record in records:
        if isinstance(record, Mapping):
            line = orjson.dumps(record)
            meta = record.get("metadata")
            if isinstance(meta, Mapping) and isinstance(meta.get("content_hash"), str):
                yield meta["content_hash"], line
            else:
                yield hashlib.sha256(line).hexdigest(), line
            continue
        raw = record.encode() if isinstance(record, str) else bytes(record)
        for part in raw.splitlines():
            part = part.rstrip(b"\r")
            if part.strip():
                yield _line_key(part), part


def append_to_journal(
    existing: bytes | None, records: Iterable[Mapping[str, Any]] | Iterable[bytes]
) -> AppendResult:
    """Append records (dicts or JSONL lines) whose key is not already in `existing` or the batch.

    `existing` is kept byte for byte, malformed lines included; only a final newline is added when
    missing, so the first appended line does not fuse with the last existing one.
    """
    if isinstance(records, bytes | bytearray):  # one blob of lines, not an iterable of lines
        records = [records]
    head = existing or b""
    seen = {_line_key(line.rstrip(b"\r")) for line in head.split(b"\n") if line.strip()}
    out: list[bytes] = []
    skipped = 0
    for key, line in _lines(records):
        if key in seen:
            skipped += 1
            continue
        seen.add(key)
        out.append(line)
    if not out:
        return AppendResult(head, 0, skipped)
    sep = b"\n" if head and not head.endswith(b"\n") else b""
    return AppendResult(head + sep + b"\n".join(out) + b"\n", len(out), skipped)
