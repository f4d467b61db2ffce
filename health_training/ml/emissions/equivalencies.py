"""A run's CO2 as everyday things: miles by car, smartphone charges, trees.

The EPA Greenhouse Gas Equivalencies Calculator's conversions, the ones the OLMo model card uses.
"""

from __future__ import annotations

KG_CO2_PER_CAR_MILE = 0.393  # average passenger car: 3.93e-4 metric t CO2 per mile
KG_CO2_PER_SMARTPHONE_CHARGE = 0.00822  # 8.22e-6 metric t CO2 per charge
KG_CO2_PER_TREE_SEEDLING_10Y = 60.0  # 0.060 metric t CO2 per urban tree seedling grown 10 years
# Arbor Day Foundation's "a mature tree absorbs about 48 lb of CO2 a year" (48 lb = 21.77 kg).
KG_CO2_PER_TREE_YEAR = 21.77


def equivalencies(kg_co2eq: float) -> dict[str, float]:
    """The same CO2 as everyday things (EPA constants above)."""
    if kg_co2eq < 0:
        raise ValueError(f"emissions cannot be negative: {kg_co2eq} kg")
    return {
        "car_miles": kg_co2eq / KG_CO2_PER_CAR_MILE,
        "tree_seedlings_10y": kg_co2eq / KG_CO2_PER_TREE_SEEDLING_10Y,
        "tree_years": kg_co2eq / KG_CO2_PER_TREE_YEAR,
        "smartphone_charges": kg_co2eq / KG_CO2_PER_SMARTPHONE_CHARGE,
    }
