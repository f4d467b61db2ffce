"""The pre-run estimate and the grid intensities it uses (CodeCarbon's bundled data)."""

from __future__ import annotations

import pytest

from health_training.ml.emissions import country_carbon_intensity, estimate_run


def test_estimate_run_math() -> None:
    est = estimate_run(
        1_000_000, 100.0, device_power_w=300.0, carbon_intensity_g_per_kwh=369.473
    )  # 10,000 s at 310 W = 3.1 MJ
    assert est.duration_s == pytest.approx(10_000.0)
    assert est.energy_kwh == pytest.approx(3.1e6 / 3.6e6)
    assert est.kg_co2eq == pytest.approx(3.1e6 / 3.6e6 * 0.369473)
    worse = estimate_run(
        1_000_000, 100.0, device_power_w=300.0, carbon_intensity_g_per_kwh=369.473, pue=1.5
    )
    assert worse.kg_co2eq == pytest.approx(est.kg_co2eq * 1.5)
    with pytest.raises(ValueError):
        estimate_run(10, 0.0, device_power_w=1.0, carbon_intensity_g_per_kwh=1.0)


def test_country_intensity_comes_from_codecarbon_data() -> None:
    assert country_carbon_intensity("USA") == pytest.approx(369.473)
    assert country_carbon_intensity("fra") == pytest.approx(56.039)
    with pytest.raises(ValueError, match="3-letter ISO code"):
        country_carbon_intensity("France")
