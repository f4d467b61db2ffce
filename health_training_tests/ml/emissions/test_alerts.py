"""Equivalencies, the spec's alert thresholds and advice, and the carbon budget: pure arithmetic."""

from __future__ import annotations

import pytest

from health_training.ml.emissions import equivalencies, recommendations, within_budget
from health_training_tests.ml.emissions.samples import result


def test_equivalencies_use_the_epa_constants() -> None:
    assert equivalencies(0.393)["car_miles"] == pytest.approx(1.0)
    assert equivalencies(21.77)["tree_years"] == pytest.approx(1.0)
    assert equivalencies(60.0)["tree_seedlings_10y"] == pytest.approx(1.0)
    assert equivalencies(0.00822)["smartphone_charges"] == pytest.approx(1.0)
    assert equivalencies(1000.0)["car_miles"] == pytest.approx(2544.53, abs=0.01)
    assert equivalencies(0.0) == dict.fromkeys(equivalencies(1.0), 0.0)
    with pytest.raises(ValueError):
        equivalencies(-1.0)


@pytest.mark.parametrize(
    ("changes", "eval_loss", "fired"),
    [
        ({"kg_co2eq": 10.0}, None, []),
        ({"kg_co2eq": 10.01}, None, ["high_emissions", "lower_carbon_region", "smaller_profile"]),
        (
            {"kg_co2eq": 11.0, "carbon_intensity_g_per_kwh": 56.0},
            None,
            ["high_emissions", "smaller_profile"],
        ),
        ({}, 2.0, []),
        ({}, 2.01, ["poor_convergence"]),
        ({"duration_s": 24 * 3600.0}, None, []),
        ({"duration_s": 24 * 3600.0 + 1}, None, ["long_run", "early_stopping"]),
    ],
)
def test_each_rule_fires_only_above_its_threshold(changes, eval_loss, fired) -> None:
    alerts = recommendations(result(**changes), eval_loss=eval_loss)
    assert [a.code for a in alerts] == fired


def test_alert_messages_carry_the_numbers() -> None:
    alerts = {a.code: a for a in recommendations(result(kg_co2eq=12.0), eval_loss=2.5)}
    assert alerts["high_emissions"].severity == "warning"
    assert "369 g/kWh" in alerts["lower_carbon_region"].message
    assert "QLoRA" in alerts["smaller_profile"].message
    assert "2.500" in alerts["poor_convergence"].message


def test_budget() -> None:
    assert within_budget(result(kg_co2eq=3.0))
    assert not within_budget(result(kg_co2eq=3.0001))
    assert within_budget(result(kg_co2eq=4.0), budget_kg=5.0)
