"""The carbon report's charts, as PNG bytes (matplotlib Figure + Agg canvas, no pyplot).

"energy": kWh split CPU / GPU / RAM for each phase and the whole run, as stacked bars (where the
energy went, and which phase spent it). "history": kg CO2eq of every recorded run, oldest first,
against the carbon budget (is this run unusual, are runs creeping up). Legends sit below the axes
so they never cover a bar.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

_COMPONENTS = (
    ("cpu_kwh", "CPU", "#2b6cb0"),
    ("gpu_kwh", "GPU", "#805ad5"),
    ("ram_kwh", "RAM", "#9aa5b1"),
)
_RUN, _OVER, _BUDGET = "#2f855a", "#c53030", "#444"


def report_charts(
    report: Mapping[str, Any], history: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, bytes]:
    """{"energy": PNG} for an `emissions_report` dict, and {"history": PNG} when records of
    earlier runs (what `append_history` returns) are given."""
    emissions = report["emissions"]
    rows = [(name, phase) for name, phase in (emissions.get("phases") or {}).items()]
    rows.append(("whole run", emissions))
    charts = {"energy": _energy(rows)}
    if history:
        charts["history"] = _history(history, float(report["budget_kg"]))
    return charts


def _energy(rows: Sequence[tuple[str, Mapping[str, Any]]]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 0.5 * len(rows) + 1.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    # Wh reads better than kWh for the short runs this platform mostly tracks.
    ys = range(len(rows))
    left = [0.0] * len(rows)
    for key, label, color in _COMPONENTS:
        widths = [float(r.get(key) or 0.0) * 1000 for _, r in reversed(rows)]
        ax.barh(ys, widths, left=left, color=color, label=label, height=0.6)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(ys, [name for name, _ in reversed(rows)], fontsize=8)
    ax.set_xlabel("energy (Wh)", fontsize=8)
    ax.set_title("energy by component", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=len(_COMPONENTS), fontsize=8)
    return _png(fig)


def _history(records: Sequence[Mapping[str, Any]], budget_kg: float) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    kgs = [float(r.get("kg_co2eq") or 0.0) for r in records]
    runs = range(1, len(kgs) + 1)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    colors = [_OVER if kg > budget_kg else _RUN for kg in kgs]
    ax.bar(runs, kgs, color=colors, label="kg CO2eq per run (red: over budget)")
    ax.axhline(
        budget_kg, color=_BUDGET, linestyle="--", linewidth=1, label=f"budget {budget_kg:g} kg"
    )
    # The budget line dwarfs short runs on a linear axis; a log axis keeps both readable.
    if kgs and min(kgs) > 0 and max(budget_kg, *kgs) / min(kgs) > 100:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no run 1.5
    ax.set_xlabel("run (oldest → newest)", fontsize=8)
    ax.set_ylabel("kg CO2eq", fontsize=8)
    ax.set_title(f"history: {len(kgs)} runs, {sum(kgs):.4g} kg in total", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    return _png(fig)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, metadata={"Software": None})
    return buf.getvalue()
