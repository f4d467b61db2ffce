"""The sentences of an ETL example: facts for `input` and a ranked narrative for `output`.

`describe` states the statistics in `input` and interprets them in `output` with the template of
the record type (`glucose`, `heart` for heart rate and HRV, `sleep`, `activity` for steps and
active calories); types it does not know are summarised without judgement. Both sides quote the
same rounded numbers. Each narrative sentence carries a rank (0: keep; higher: dropped first), so
the writer can shorten the output to its limit without losing a finding.
"""

from __future__ import annotations

from health_training.etl.clinical_types import (
    Analysis,
    DailyTotalStats,
    GenericStats,
    GlucoseStats,
    HeartRateStats,
    HrvStats,
    SleepStats,
)
from health_training.etl.narratives.activity import daily_total_narrative
from health_training.etl.narratives.glucose import glucose_narrative
from health_training.etl.narratives.heart import heart_rate_narrative, hrv_narrative
from health_training.etl.narratives.sleep import sleep_narrative
from health_training.etl.narratives.wording import DISCLAIMER, NarrativeParts, Text, plural

__all__ = ["DISCLAIMER", "Text", "describe"]


def _generic(s: GenericStats, n: int) -> NarrativeParts:
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
        head = f"Readings: {plural(n, 'stage segment')}"
    elif record_type == "BloodGlucoseRecord" and isinstance(s, GlucoseStats):
        head = f"Readings: {n} CGM values at {s.interval}-minute intervals"
    elif record_type == "HeartRateRecord" and isinstance(s, HeartRateStats):
        head = f"Readings: {n} heart-rate samples at {s.interval}-minute intervals"
    elif isinstance(s, DailyTotalStats):
        head = f"Readings: {n} values covering {s.hours} hours"
    else:
        head = f"Readings: {plural(n, 'value')}"
    head += f"; {bad} implausible excluded." if bad else "."
    if isinstance(s, GlucoseStats):
        facts, say, default = glucose_narrative(s, codes)
    elif isinstance(s, HeartRateStats):
        facts, say, default = heart_rate_narrative(s, codes)
    elif isinstance(s, HrvStats):
        facts, say, default = hrv_narrative(s, codes)
    elif isinstance(s, SleepStats):
        facts, say, default = sleep_narrative(s, codes)
    elif isinstance(s, DailyTotalStats):
        facts, say, default = daily_total_narrative(s, codes, record_type == "StepsRecord")
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
                f"{plural(bad, 'implausible value')} outside the physiological range "
                f"{'was' if bad == 1 else 'were'} excluded as sensor error.",
            )
        )
    return Text([head, *facts], [*say, (2, DISCLAIMER)], default)
