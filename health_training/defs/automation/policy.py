"""The automation policy (configs/automation.yaml) as a frozen dataclass: the thresholds the
retrain sensors use, defined once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

POLICY = Path(__file__).resolve().parents[2] / "configs" / "automation.yaml"


@dataclass(frozen=True, slots=True)
class AutomationPolicy:
    window: int = 200
    min_ratings: int = 20
    average_below: float = 3.0
    negative_below: int = 3
    negatives_since_training: int = 100
    preference_examples: int = 250  # rated answers to learn from since the last training
    new_curated_examples: int = 10_000
    max_per_rater: int = 5  # one rater's ratings beyond this many are ignored (a burst)


@cache
def automation_policy(path: Path = POLICY) -> AutomationPolicy:
    raw = yaml.safe_load(path.read_text()) or {}
    feedback, volume = raw.get("feedback") or {}, raw.get("data_volume") or {}
    return AutomationPolicy(
        window=int(feedback["window"]),
        min_ratings=int(feedback["min_ratings"]),
        average_below=float(feedback["average_below"]),
        negative_below=int(feedback["negative_below"]),
        negatives_since_training=int(feedback["negatives_since_training"]),
        preference_examples=int(feedback["preference_examples"]),
        new_curated_examples=int(volume["new_curated_examples"]),
        max_per_rater=int(feedback.get("max_per_rater", 5)),
    )
