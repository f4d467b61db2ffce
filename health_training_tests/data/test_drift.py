"""Drift: the same distribution scores ~0, a shifted category mix or new vocabulary scores high."""

from __future__ import annotations

import pytest

from health_training.data.drift import compare, js_divergence, profile_of


def _rows(cat_counts: dict[str, int], text: str = "your mean glucose was steady overnight"):
    return [
        {"category": c, "output": f"{text} {i % 7}"}
        for c, n in cat_counts.items()
        for i in range(n)
    ]


def test_js_divergence_bounds():
    assert js_divergence({"a": 1.0}, {"a": 1.0}) == 0.0
    assert js_divergence({"a": 1.0}, {"b": 1.0}) == pytest.approx(1.0)
    assert 0 < js_divergence({"a": 0.5, "b": 0.5}, {"a": 0.9, "b": 0.1}) < 1


def test_same_distribution_does_not_drift():
    base = profile_of(_rows({"metabolic_diabetes": 50, "sleep_recovery": 50}))
    month = profile_of(_rows({"metabolic_diabetes": 48, "sleep_recovery": 52}))
    result = compare(base, month, 0.15)
    assert result.score < 0.01 and not result.drifted


def test_category_shift_and_new_vocabulary_drift():
    base = profile_of(_rows({"metabolic_diabetes": 90, "sleep_recovery": 10}))
    shifted = profile_of(
        _rows(
            {"metabolic_diabetes": 5, "sleep_recovery": 95},
            text="insulin pump occlusion alarms repeated during basal delivery",
        )
    )
    result = compare(base, shifted, 0.15)
    assert result.drifted
    assert result.components["category"] > 0.3 and result.components["vocabulary"] > 0.5


def test_profile_round_trips():
    from health_training.data.drift import Profile

    p = profile_of(_rows({"a": 3}))
    assert Profile.from_dict(p.to_dict()) == p
