"""Values read back from the ETL writer's own record lines (`etl/narratives`), which a client may
attach to a question: the judged facts by that format's words ("Time in range 70-180 mg/dL: 19%"),
the parts and wholes of the shares questions ask for, the other values a look-up names (the lowest
HRV reading, the mean heart rate, GMI), and which record types the text holds."""

from __future__ import annotations

import re

# The writer's record lines (etl/narratives): one pattern per judged fact, and the parts and
# wholes of the shares a question may ask for; group 1 is the value.
_RECORD_PATTERNS: dict[str, str] = {
    "mean_glucose_mg_dl": r"Mean glucose (\d+) mg/dL",
    "min_glucose_mg_dl": r"Mean glucose \d+ mg/dL \(range (\d+)-\d+ mg/dL\)",
    "max_glucose_mg_dl": r"Mean glucose \d+ mg/dL \(range \d+-(\d+) mg/dL\)",
    "glucose_cv_pct": r"\bCV (\d+)% \(stable",
    "time_in_range_pct": r"Time in range 70-180 mg/dL: (\d+)%",
    "time_below_range_pct": r"; below 70 mg/dL: (\d+)%",
    "time_above_range_pct": r"; above 180 mg/dL: (\d+)%",
    "resting_hr_bpm": r"Resting heart rate (\d+) bpm",
    "max_hr_bpm": r"bpm, maximum (\d+) bpm",
    "mean_rmssd_ms": r"Mean RMSSD (\d+) ms",
    "asleep_min": r"min in bed, (\d+) min asleep",
    "sleep_efficiency_pct": r"Sleep efficiency (\d+)% \(reference",
    "sleep_latency_min": r"sleep latency (\d+) min \(reference",
    "deep_pct": r"deep \d+ min \((\d+)%\)",
    "rem_pct": r"REM \d+ min \((\d+)%\)",
    "total_steps": r"Total ([\d,]+) steps against a goal",
    "total_active_kcal": r"Total active energy ([\d,]+) kcal against a goal",
    "time_in_bed_min": r"Sleep session \S+: (\d+) min in bed",
    "awake_min": r"Stages: awake (\d+) min",
    "deep_min": r"deep (\d+) min \(\d+%\)",
    "rem_min": r"REM (\d+) min \(\d+%\)",
    "peak_hour_steps": r"Most active hour \d\d:\d\d with ([\d,]+) steps",
    "peak_hour_kcal": r"Peak hour \d\d:\d\d with ([\d,]+) kcal",
    # The record's other values a look-up names ("the lowest my HRV got"): no verdict, the value.
    "min_rmssd_ms": r"Mean RMSSD \d+ ms \(lowest (\d+) ms",
    "max_rmssd_ms": r"Mean RMSSD \d+ ms \(lowest \d+ ms at \d\d:\d\d, highest (\d+) ms",
    "mean_hr_bpm": r"Resting heart rate \d+ bpm \([^)]*\), mean (\d+) bpm",
    "gmi_pct": r"Glucose management indicator \(GMI\) (\d+(?:\.\d)?)%",
    "hypoglycemic_events": r"Hypoglycemic events \([^)]*\): (\d+)",
    "hyperglycemic_events": r"Hyperglycemic events \([^)]*\): (\d+)",
    **{f"zone{z}_min": rf"\bzone {z} (\d+) min" for z in range(1, 6)},
    "steps_pct_of_goal": r"against a goal of [\d,]+ steps \((\d+)% of goal\)",
    "kcal_pct_of_goal": r"against a goal of [\d,]+ kcal \((\d+)% of goal\)",
}
_RECORD_TYPE = re.compile(r"Record type: (\w+Record)\b")


def record_values(text: str) -> dict[str, float]:
    """The judged facts, the share parts and the other named values of the writer's records in
    `text` (the first record of a type wins)."""
    values: dict[str, float] = {}
    for fact, pattern in _RECORD_PATTERNS.items():
        found = re.search(pattern, text)
        if found:
            values[fact] = float(found[1].replace(",", ""))
    return values


def record_types(text: str) -> set[str]:
    return set(_RECORD_TYPE.findall(text))
