"""Helpers for the emissions tests: CPU work that does not depend on how loaded the machine is,
CSV rows, and a synthetic result to vary one field at a time."""

from __future__ import annotations

import csv
import dataclasses
import time
from pathlib import Path

from health_training.ml.emissions import EmissionsResult


def busy(cpu_seconds: float) -> None:
    """Spend this thread's CPU time, not wall time: the same work however busy the machine is
    (process-mode CodeCarbon bills the process's CPU time)."""
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        sum(range(1000))


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def result(**changes) -> EmissionsResult:
    """An hour on a 2 kW GPU box in the US; `changes` replace fields."""
    base = EmissionsResult(
        kg_co2eq=1.0,
        energy_kwh=2.7065,
        cpu_kwh=0.5,
        gpu_kwh=2.0,
        ram_kwh=0.2065,
        carbon_intensity_g_per_kwh=369.473,
        duration_s=3600.0,
        country_iso_code="USA",
        region=None,
        cpu_model="cpu",
        gpu_model="1 x gpu",
        cpu_power_w=500.0,
        gpu_power_w=2000.0,
        power_measurement="NVML (GPU)",
    )
    return dataclasses.replace(base, **changes)
