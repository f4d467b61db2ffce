"""How CodeCarbon obtained each power figure (RAPL, NVML, a TDP estimate...), in words.

Read from the hardware objects the tracker set up; these are CodeCarbon's private attributes, so
a later CodeCarbon that renames them yields "method unknown" rather than an error. The text goes
into every result and report: an estimate must never pass for a measurement.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from typing import Any

from health_training.ml.emissions.result import UNKNOWN_POWER


def power_measurement(tracker: Any) -> str:
    """How CodeCarbon gets each power figure, read from the hardware objects it set up."""
    order = {"CPU": 0, "AppleSiliconChip": 0, "Raspberry": 0, "GPU": 1, "RAM": 2}
    parts = []
    for hw in getattr(tracker, "_hardware", None) or []:
        kind = type(hw).__name__
        try:
            text = _hardware_method(kind, hw)
        except AttributeError:  # private attributes: a later CodeCarbon may rename them
            text = f"{kind}: method unknown to this CodeCarbon wrapper"
        parts.append((order.get(kind, 3), text))
    return "; ".join(text for _, text in sorted(parts)) or UNKNOWN_POWER


def _hardware_method(kind: str, hw: Any) -> str:
    if kind == "CPU":
        return _cpu_method(hw)
    if kind == "GPU":
        vendors = {type(d).__name__ for d in hw.devices.devices}
        return "AMD SMI (GPU)" if vendors == {"AMDGPUDevice"} else "NVML (GPU)"
    if kind == "AppleSiliconChip":
        return f"powermetrics ({hw.chip_part})"
    if kind == "Raspberry":
        return f"Raspberry Pi PMIC ({hw.chip_part})"
    if kind == "RAM":
        if hw._force_ram_power is not None:
            return f"RAM: user constant {hw._force_ram_power} W"
        return "RAM: estimate (CodeCarbon's DIMM model: 5 W per assumed DIMM, at least 10 W)"
    return f"{kind}: method unknown to this CodeCarbon wrapper"


def _cpu_method(cpu: Any) -> str:
    counters = {
        "intel_rapl": "RAPL (CPU)",
        "windows_emi": "RAPL via Windows Energy Meter Interface (CPU)",
        "intel_power_gadget": "Intel Power Gadget (CPU)",
    }
    if cpu._mode in counters:
        return counters[cpu._mode]
    why = {
        "Linux": "no readable RAPL on this machine",
        "Darwin": "no Power Gadget or powermetrics access on this machine",
        "Windows": "no Energy Meter Interface on this machine",
    }.get(platform.system(), "no power counter CodeCarbon can read on this machine")
    if cpu._is_generic_tdp:
        source = f" for {cpu._model!r}: CodeCarbon's generic constant"
    else:
        source = _tdp_source(cpu._model)
    tdp = f"{cpu._tdp:g} W TDP assumed{source}"
    if cpu._mode == "cpu_load":
        return f"estimate: CodeCarbon CPU load × TDP model ({tdp}) — {why}"
    return f"estimate: CodeCarbon CPU constant/TDP model (50 % of {tdp}) — {why}"


@lru_cache(maxsize=8)
def _tdp_source(cpu_model: str | None) -> str:
    """Whether CodeCarbon found the CPU in its TDP table or fell back to 4 W per thread."""
    if not cpu_model:
        return " (CPU model unreadable: CodeCarbon's default)"
    # The same fuzzy match CodeCarbon ran; TDP() itself would re-read cpuinfo (about 2 s).
    try:
        from codecarbon.core.cpu import TDP
        from codecarbon.input import DataSource

        matcher = TDP.__new__(TDP)
        match = matcher._get_matching_cpu(cpu_model, DataSource().get_cpu_power_data())
    except (ImportError, AttributeError, KeyError, TypeError):  # CodeCarbon moved its internals
        return f" for {cpu_model!r}"
    if match:
        return f" for {cpu_model!r}, from CodeCarbon's CPU table"
    return f" for {cpu_model!r}: not in CodeCarbon's CPU table, so 4 W per thread"
