"""Before training: how long, how much energy and how much CO2 a run will take.

Time from throughput, energy from the device's and RAM's power, CO2 from the grid's intensity
(`country_carbon_intensity`); the PUE scales energy for a data centre's overhead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunEstimate:
    duration_s: float
    energy_kwh: float
    kg_co2eq: float


def estimate_run(
    tokens: int,
    tokens_per_second: float,
    *,
    device_power_w: float,
    ram_power_w: float = 10.0,  # CodeCarbon's RAM floor on x86 (2 DIMMs × 5 W); 20 W above 16 GB RSS
    carbon_intensity_g_per_kwh: float,
    pue: float = 1.0,
) -> RunEstimate:
    """Before training: time from throughput, energy from power, CO2 from the grid."""
    if tokens < 0 or tokens_per_second <= 0 or pue < 1.0:
        raise ValueError(
            f"need tokens >= 0, tokens_per_second > 0, pue >= 1; got {tokens}, {tokens_per_second}, {pue}"
        )
    if device_power_w < 0 or ram_power_w < 0 or carbon_intensity_g_per_kwh < 0:
        raise ValueError("power and carbon intensity cannot be negative")
    duration_s = tokens / tokens_per_second
    energy_kwh = (device_power_w + ram_power_w) * duration_s / 3.6e6 * pue
    return RunEstimate(duration_s, energy_kwh, energy_kwh * carbon_intensity_g_per_kwh / 1000.0)
