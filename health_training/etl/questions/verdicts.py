"""Judging one value against the clinical references, with `clinical.py`'s exact comparisons.

`judge(fact, value)` says whether the value is outside its reference (what "is it bad?" answers
yes to), how serious that is (the severities of `clinical.py`'s findings) and a clause that
completes "Your time in range of 62% is ...": "below the 70% target". Each rule uses the
comparison `clinical.analyze` uses (TIR `< 70` is low, so 70% meets the target; resting heart rate
`> 85` is elevated, so 85 bpm is within range) and quotes only numbers of
`reference_values.REFERENCE_VALUES`, written the way the narratives write them. Thresholds inside a
clause follow "below", "above", "under", "over" or precede "target"/"reference", so that
`ml/evaluation/statements.py` reads them as reference points, not as statements about the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from health_training.etl.clinical_types import CALORIE_GOAL, MAX_HR
from health_training.etl.derived import share_pct


@dataclass(frozen=True, slots=True)
class Verdict:
    flagged: bool  # outside the reference: "is it bad?" -> yes
    severity: int  # 0 fine or informational, 1 elevated, 2 high (as clinical.py's findings)
    label: str  # an adjective phrase: "below target", "within range"
    clause: str  # completes "<subject> of <value> is ..."


def _v(flagged: bool, severity: int, label: str, clause: str) -> Verdict:
    return Verdict(flagged, severity, label, clause)


def _mean_glucose(v: float) -> Verdict:
    if v < 70:
        return _v(True, 2, "low", "below 70 mg/dL, the lower edge of the target range")
    if v > 154:  # clinical.py: high_mean when the mean is above 154 mg/dL
        return _v(True, 1, "high", "above 154 mg/dL, the level at which an average counts as high")
    return _v(False, 0, "in range", "at or below 154 mg/dL, so the average does not count as high")


def _tir(v: float) -> Verdict:
    if v < 50:
        return _v(True, 2, "far below target", "far below the 70% target (under 50%)")
    if v < 70:
        return _v(True, 1, "below target", "below the 70% target")
    return _v(False, 0, "on target", "at or above the 70% target")


def _tbr(v: float) -> Verdict:
    if v > 4:
        return _v(True, 2, "too high", "above the 4% target for time below 70 mg/dL")
    return _v(False, 0, "fine", "within the target of under 4%")


def _tar(v: float) -> Verdict:
    # Not one of clinical.py's findings (the narratives state it unjudged); the International
    # Consensus target its TIR and TBR rules come from, with their comparison (over is outside).
    if v > 25:
        return _v(True, 1, "too high", "above the 25% target for time above 180 mg/dL")
    return _v(False, 0, "fine", "within the target of under 25% above 180 mg/dL")


def _cv(v: float) -> Verdict:
    if v > 36:
        return _v(True, 1, "unstable", "above 36%, the level that marks unstable glucose")
    return _v(False, 0, "stable", "at or below 36%, the level for stable glucose")


def _max_glucose(v: float) -> Verdict:
    if v > 250:
        return _v(True, 1, "very high", "above 250 mg/dL, the level counted as very high")
    if v > 180:
        return _v(True, 1, "high", "above 180 mg/dL, the top of the target range")
    return _v(False, 0, "in range", "within the 70-180 mg/dL target range")


def _min_glucose(v: float) -> Verdict:
    if v < 70:
        return _v(True, 2, "low", "below 70 mg/dL, the threshold for hypoglycemia")
    return _v(False, 0, "fine", "at or above 70 mg/dL, so no reading went low")


def _resting(v: float) -> Verdict:
    if v > 100:
        return _v(True, 2, "tachycardic", "above 100 bpm, in the tachycardic range")
    if v > 85:
        return _v(True, 1, "elevated", "above the 40-85 bpm reference range")
    if v < 40:
        return _v(True, 1, "low", "below 40 bpm, under the 40-85 bpm reference range")
    return _v(False, 0, "normal", "within the 40-85 bpm reference range")


def _max_hr(v: float) -> Verdict:
    if v > MAX_HR:
        return _v(
            True, 1, "above the reference maximum", f"above the {MAX_HR} bpm reference maximum"
        )
    return _v(False, 0, "within range", f"at or below the {MAX_HR} bpm reference maximum")


def _rmssd(v: float) -> Verdict:
    if v < 20:
        return _v(True, 2, "low", "below 20 ms, which counts as low")
    if v < 30:
        return _v(True, 1, "reduced", "in the reduced 20-30 ms band")
    if v >= 60:
        return _v(False, 0, "good", "at or above 60 ms, which suggests good recovery")
    return _v(False, 0, "in the usual range", "in the usual range, at 30 ms or more")


def _asleep(v: float) -> Verdict:
    if v < 300:
        return _v(True, 2, "very short", "under 5 h, which is very short")
    if v < 420:
        return _v(True, 1, "short", "under the recommended 7 h minimum")
    if v > 600:
        return _v(True, 1, "long", "over 10 h, which counts as long")
    if v > 540:  # not a finding in clinical.py, but past the 7-9 h most adults need
        return _v(False, 0, "a bit long", "past the recommended 7-9 h but not over 10 h")
    return _v(False, 0, "enough", "within the recommended 7-9 h")


def _efficiency(v: float) -> Verdict:
    if v < 75:
        return _v(True, 2, "poor", "below 75%, which counts as poor")
    if v < 85:
        return _v(True, 1, "below the reference", "below the 85% reference")
    return _v(False, 0, "good", "at or above the 85% reference")


def _latency(v: float) -> Verdict:
    if v > 30:
        return _v(True, 1, "long", "longer than the 30 min reference")
    return _v(False, 0, "normal", "within the 30 min reference")


def _deep_pct(v: float) -> Verdict:
    if v < 10:
        return _v(True, 0, "low", "below the usual 10-25% share")
    return _v(False, 0, "normal", "at or above 10%, the usual lower end")


def _rem_pct(v: float) -> Verdict:
    if v < 15:
        return _v(True, 0, "low", "below the usual 15-25% share")
    return _v(False, 0, "normal", "at or above 15%, the usual lower end")


def _steps(v: float) -> Verdict:
    if v < 2_500:
        return _v(True, 2, "very low", "under 2,500 steps, a very low activity level")
    if v < 5_000:
        return _v(True, 1, "sedentary", "under 5,000 steps, the sedentary range")
    if v < 7_500:
        return _v(True, 1, "low", "under 7,500 steps, the low-active range")
    if v >= 10_000:
        return _v(False, 0, "on target", "at or above the 10,000 steps daily target")
    return _v(False, 0, "moderate", "above 7,500 steps but short of the 10,000 steps target")


def _kcal(v: float) -> Verdict:
    pct = share_pct(v, CALORIE_GOAL)  # clinical.py judges the rounded percent of the goal
    if pct < 40:
        return _v(True, 1, "low", f"under 40% of the {CALORIE_GOAL} kcal daily target")
    if pct > 300:
        return _v(True, 1, "very high", f"over 300% of the {CALORIE_GOAL} kcal daily target")
    if v >= CALORIE_GOAL:
        return _v(False, 0, "on target", f"at or above the {CALORIE_GOAL} kcal daily target")
    return _v(False, 0, "moderate", f"short of the {CALORIE_GOAL} kcal target but not low")


RULES: dict[str, Callable[[float], Verdict]] = {
    "mean_glucose_mg_dl": _mean_glucose,
    "time_in_range_pct": _tir,
    "time_below_range_pct": _tbr,
    "time_above_range_pct": _tar,
    "glucose_cv_pct": _cv,
    "max_glucose_mg_dl": _max_glucose,
    "min_glucose_mg_dl": _min_glucose,
    "resting_hr_bpm": _resting,
    "max_hr_bpm": _max_hr,
    "mean_rmssd_ms": _rmssd,
    "asleep_min": _asleep,
    "sleep_efficiency_pct": _efficiency,
    "sleep_latency_min": _latency,
    "deep_pct": _deep_pct,
    "rem_pct": _rem_pct,
    "total_steps": _steps,
    "total_active_kcal": _kcal,
}
JUDGED_FACTS: tuple[str, ...] = tuple(RULES)


def judge(fact: str, value: float) -> Verdict:
    """The verdict on `value` of `fact`; KeyError for a fact without a reference."""
    return RULES[fact](value)
