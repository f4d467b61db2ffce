"""`EmissionsResult`: one CodeCarbon emissions.csv row as typed numbers, and results combined.

A result is a whole run (with its phases) or one phase. Mean power comes from energy over
duration: CodeCarbon's own power columns average a few measurement points. `combine_results`
adds up phases that were tracked in separate processes or assets (training, evaluation).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNKNOWN_POWER = "unknown: emissions.csv does not record how CodeCarbon obtained power"


@dataclass(frozen=True)
class EmissionsResult:
    """One CodeCarbon row: a whole run, or one phase of it (then `phases` is empty)."""

    kg_co2eq: float
    energy_kwh: float
    cpu_kwh: float
    gpu_kwh: float
    ram_kwh: float
    carbon_intensity_g_per_kwh: float | None  # emissions / energy; None when no energy was counted
    duration_s: float
    country_iso_code: str
    region: str | None
    cpu_model: str
    gpu_model: str
    cpu_power_w: float  # mean over the run: energy / duration
    gpu_power_w: float
    power_measurement: str
    phases: dict[str, EmissionsResult] = field(default_factory=dict)
    csv_path: Path | None = None

    @classmethod
    def from_csv_row(
        cls,
        row: Mapping[str, Any],
        *,
        power_measurement: str = UNKNOWN_POWER,
        csv_path: Path | None = None,
        phases: Mapping[str, EmissionsResult] | None = None,
    ) -> EmissionsResult:
        """Parse a row of CodeCarbon's emissions.csv (38 columns in 3.3.2; strings or numbers)."""
        where = f"{csv_path}: " if csv_path else ""

        def number(column: str) -> float:
            if column not in row:
                raise ValueError(f"{where}column {column!r} is missing; is this a CodeCarbon row?")
            try:
                return float(row[column])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}column {column!r} is {row[column]!r}, not a number"
                ) from None

        kg, kwh, seconds = number("emissions"), number("energy_consumed"), number("duration")
        # Mean power from energy: CodeCarbon's cpu_power column averages its few measurement
        # points (start, every measure_power_secs, stop) and read 0.8 W for a 1.6 W mean here.
        cpu_kwh, gpu_kwh = number("cpu_energy"), number("gpu_energy")
        watts = 3.6e6 / seconds if seconds > 0 else 0.0
        return cls(
            kg_co2eq=kg,
            energy_kwh=kwh,
            cpu_kwh=cpu_kwh,
            gpu_kwh=gpu_kwh,
            ram_kwh=number("ram_energy"),
            carbon_intensity_g_per_kwh=kg * 1000.0 / kwh if kwh > 0 else None,
            duration_s=seconds,
            country_iso_code=str(row.get("country_iso_code") or ""),
            region=str(row["region"]) if row.get("region") else None,
            cpu_model=str(row.get("cpu_model") or ""),
            gpu_model=str(row.get("gpu_model") or ""),
            cpu_power_w=cpu_kwh * watts,
            gpu_power_w=gpu_kwh * watts,
            power_measurement=power_measurement,
            phases=dict(phases or {}),
            csv_path=csv_path,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmissionsResult:
        """Inverse of `to_dict` (phases included)."""
        d = dict(data)
        d["phases"] = {k: cls.from_dict(v) for k, v in (d.get("phases") or {}).items()}
        d["csv_path"] = Path(d["csv_path"]) if d.get("csv_path") else None
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: paths as strings, phases nested."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["csv_path"] = str(self.csv_path) if self.csv_path else None
        out["phases"] = {name: phase.to_dict() for name, phase in self.phases.items()}
        return out


def combine_results(phases: Mapping[str, EmissionsResult]) -> EmissionsResult:
    """One result for phases tracked in separate processes or assets (e.g. training, evaluation)."""
    if not phases:
        raise ValueError("no phases to combine")
    parts = list(phases.values())
    kg, kwh = sum(p.kg_co2eq for p in parts), sum(p.energy_kwh for p in parts)
    seconds = sum(p.duration_s for p in parts)
    cpu, gpu = sum(p.cpu_kwh for p in parts), sum(p.gpu_kwh for p in parts)
    watts = 3.6e6 / seconds if seconds > 0 else 0.0
    first = parts[0]
    methods = sorted({p.power_measurement for p in parts})
    return EmissionsResult(
        kg_co2eq=kg,
        energy_kwh=kwh,
        cpu_kwh=cpu,
        gpu_kwh=gpu,
        ram_kwh=sum(p.ram_kwh for p in parts),
        carbon_intensity_g_per_kwh=kg * 1000.0 / kwh if kwh > 0 else None,
        duration_s=seconds,
        country_iso_code=first.country_iso_code,
        region=first.region,
        cpu_model=first.cpu_model,
        gpu_model=first.gpu_model,
        cpu_power_w=cpu * watts,
        gpu_power_w=gpu * watts,
        power_measurement=" | ".join(methods),
        phases=dict(phases),
        csv_path=None,
    )
