"""The carbon intensity of a country's grid, as CodeCarbon uses it (its bundled, offline data)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _energy_mix() -> dict[str, Any]:
    from codecarbon.input import DataSource

    return DataSource().get_global_energy_mix_data()


def country_carbon_intensity(country_iso_code: str) -> float:
    """Grid intensity (g CO2eq/kWh) CodeCarbon uses for a country: its bundled
    data/private_infra/global_energy_mix.json, read offline. USA: 369.5, FRA: 56.0."""
    mix = _energy_mix()
    entry = mix.get(country_iso_code.upper())
    if entry is None or entry.get("carbon_intensity") is None:
        raise ValueError(
            f"country {country_iso_code!r} is not in CodeCarbon's global_energy_mix.json "
            f"({len(mix)} countries); use a 3-letter ISO code such as 'USA' or 'FRA'"
        )
    return float(entry["carbon_intensity"])
