"""The clinical reference values the ETL writer judges by, as one documented table.

Every threshold a narrative or an answer may quote without the user having said it: the
serving-time grounding rule (`ml/evaluation/grounding.py`) and the free-form evaluation accept these numbers
in an answer, and nothing else that the request does not hold or imply. The values are the ones
`clinical.py` judges with (International Consensus on Time in Range 2019; CDC sleep duration;
heart-rate zones as % of a fixed 190 bpm maximum); a change there must change this table, which a
test checks against the narratives' own reference sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

from health_training.etl.clinical_types import CALORIE_GOAL, MAX_HR, STEP_GOAL


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    value: float
    unit: str | None  # the canonical unit of ml/faithfulness ("mg/dL", "%", "bpm", "min", ...)
    meaning: str


REFERENCE_VALUES: tuple[ReferenceValue, ...] = (
    # Glucose (CGM), International Consensus on Time in Range (2019)
    ReferenceValue(70, "mg/dL", "lower edge of the glucose target range; below is hypoglycemia"),
    ReferenceValue(180, "mg/dL", "upper edge of the glucose target range"),
    ReferenceValue(250, "mg/dL", "level-2 hyperglycemia"),
    ReferenceValue(154, "mg/dL", "mean glucose above which the mean is called high"),
    ReferenceValue(70, "%", "time-in-range target (more than 70 % of readings)"),
    ReferenceValue(50, "%", "time in range below this is far below target"),
    ReferenceValue(4, "%", "time-below-range target (under 4 %)"),
    ReferenceValue(25, "%", "time-above-range target (under 25 % above 180 mg/dL)"),
    ReferenceValue(36, "%", "coefficient of variation above this is unstable glucose"),
    ReferenceValue(15, "min", "minimum duration of a hypo- or hyperglycemic event"),
    # Heart rate
    ReferenceValue(MAX_HR, "bpm", "the fixed maximum heart rate the zones are computed from"),
    ReferenceValue(40, "bpm", "lower edge of the resting heart-rate reference"),
    ReferenceValue(85, "bpm", "upper edge of the resting heart-rate reference"),
    ReferenceValue(100, "bpm", "resting heart rate above this is tachycardic"),
    *(
        ReferenceValue(round(pct * MAX_HR / 100), "bpm", f"zone edge at {pct} % of maximum")
        for pct in (50, 60, 70, 80, 90)
    ),
    ReferenceValue(20, "min", "minutes in zones 4-5 that make a day vigorous"),
    ReferenceValue(10, "min", "minutes above zone 1 under which a day is inactive"),
    # Heart-rate variability (RMSSD)
    ReferenceValue(20, "ms", "mean RMSSD below this is low"),
    ReferenceValue(30, "ms", "mean RMSSD below this is reduced"),
    ReferenceValue(60, "ms", "mean RMSSD at or above this suggests good recovery"),
    ReferenceValue(1, "ms/h", "an RMSSD trend falling by this much per hour is a decline"),
    # Sleep (CDC)
    ReferenceValue(7, "h", "adults need at least 7 h of sleep; under 7 h is short"),
    ReferenceValue(9, "h", "upper end of the recommended 7-9 h"),
    ReferenceValue(5, "h", "under 5 h of sleep is very short"),
    ReferenceValue(10, "h", "over 10 h of sleep is long"),
    ReferenceValue(85, "%", "sleep efficiency reference (85 % or more)"),
    ReferenceValue(75, "%", "sleep efficiency below this is poor"),
    ReferenceValue(30, "min", "sleep latency reference (30 min or less)"),
    ReferenceValue(10, "%", "deep sleep is usually 10-25 % of sleep"),
    ReferenceValue(25, "%", "upper end of the usual deep and REM shares"),
    ReferenceValue(15, "%", "REM sleep is usually 15-25 % of sleep"),
    # Steps and active energy
    ReferenceValue(STEP_GOAL, "steps", "the daily step goal"),
    ReferenceValue(7_500, "steps", "under this a day is low-active"),
    ReferenceValue(5_000, "steps", "under this a day is sedentary"),
    ReferenceValue(2_500, "steps", "under this a day is very low activity"),
    ReferenceValue(250, "steps", "steps in an hour that make it an active hour"),
    ReferenceValue(4, "h", "fewer active hours than this is a short active day"),
    ReferenceValue(CALORIE_GOAL, "kcal", "the daily active-calorie goal"),
    ReferenceValue(30, "kcal", "active kcal in an hour that make it an active hour"),
    ReferenceValue(40, "%", "active energy under this share of the goal is low"),
    ReferenceValue(300, "%", "active energy above this share of the goal is very high"),
    ReferenceValue(100, "%", "a goal met in full"),
)


def reference_table_markdown() -> str:
    """The table as Markdown, for the README and reports."""
    lines = ["| value | unit | meaning |", "|---:|---|---|"]
    for r in REFERENCE_VALUES:
        lines.append(f"| {r.value:g} | {r.unit or ''} | {r.meaning} |")
    return "\n".join(lines)
