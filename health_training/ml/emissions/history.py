"""Every run's carbon in one JSONL file, and the totals over it (the total footprint).

Each record is an `EmissionsResult.to_dict()` plus whatever identifies the run; the file is
rewritten atomically on each append, so a reader never sees half a line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from health_training.files import write_atomic


def read_history(history_path: Path) -> list[dict[str, Any]]:
    """The JSONL history; a missing file is an empty history."""
    if not history_path.exists():
        return []
    records = []
    for number, line in enumerate(history_path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(
                f"{history_path}:{number}: not JSON ({e.msg}); fix or drop the line"
            ) from None
    return records


def append_history(history_path: Path, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Append one record and return the whole history; readers never see a half-written file."""
    records = [*read_history(history_path), dict(record)]
    history_path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_atomic(history_path, text.encode())
    return records


def summarize_history(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over records holding `kg_co2eq` and `energy_kwh` (as `EmissionsResult.to_dict`)."""
    for i, r in enumerate(records):
        if "kg_co2eq" not in r or "energy_kwh" not in r:
            raise ValueError(f"history record {i} lacks kg_co2eq or energy_kwh: {sorted(r)}")
    kgs = [float(r["kg_co2eq"]) for r in records]
    return {
        "runs": len(records),
        "total_kg_co2eq": sum(kgs),
        "total_energy_kwh": sum(float(r["energy_kwh"]) for r in records),
        "mean_kg_co2eq_per_run": sum(kgs) / len(kgs) if kgs else 0.0,
        "max_kg_co2eq": max(kgs, default=0.0),
    }
