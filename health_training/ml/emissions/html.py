"""The carbon report as one self-contained HTML page: tables, and charts as inline PNGs.

The page renders an `emissions_report` dict (what emissions_report.json holds): the headline
numbers, each phase, how power was measured, the equivalencies, the alerts, the history's totals
and, given the history's records, every run against the budget. Text is escaped; wide tables
scroll instead of overflowing; nothing is fetched when the page opens.

    report = emissions_report(total, eval_loss=loss, history=history, budget_kg=budget)
    write_atomic(run_dir / "emissions_report.html", to_html(report, history=history).encode())
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from health_training.files import write_atomic

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}"
    "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}"
    "td:first-child,th:first-child{text-align:left}img{max-width:100%}.over{color:#c53030}"
)


def to_html(
    report: Mapping[str, Any],
    *,
    history: Sequence[Mapping[str, Any]] | None = None,
    title: str = "Carbon footprint",
    charts_dir: Path | None = None,
) -> str:
    """A self-contained page for an `emissions_report` dict; `history` (the records
    `append_history` returned) adds the chart of every run against the budget. With
    `charts_dir` the PNGs are also saved there (energy.png, history.png), e.g. for MLflow."""
    from health_training.ml.emissions.charts import report_charts

    pngs = report_charts(report, history)
    if charts_dir is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        for name, data in pngs.items():
            write_atomic(charts_dir / f"{name}.png", data)
    e = report["emissions"]
    budget = "within" if report["within_budget"] else '<span class="over">OVER</span>'
    parts = [
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{_g(e['kg_co2eq'])} CO2eq, {_wh(e['energy_kwh'])}, {e['duration_s']:.1f} s; "
        f"{budget} the budget of {report['budget_kg']:g} kg.</p>",
        _table(["", ""], _summary(report)),
        f"<p>Power: {escape(str(e['power_measurement']))}.</p>",
    ]
    if e.get("phases"):
        parts += ["<h2>Phases</h2>", _table(*_phases(e))]
    parts += [
        f'<figure><img alt="{name} chart" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode("ascii")}"></figure>'
        for name, data in pngs.items()
    ]
    parts += ["<h2>Equivalent to</h2>", _table(["", ""], _equivalencies(report["equivalencies"]))]
    parts.append("<h2>Alerts</h2>")
    if report["alerts"]:
        rows = [[a["severity"], a["code"], a["message"]] for a in report["alerts"]]
        parts.append(_table(["severity", "alert", "message"], rows))
    else:
        parts.append("<p>No alerts.</p>")
    h = report["history"]
    history_rows = [
        ["runs", str(h["runs"])],
        ["total CO2eq", f"{h['total_kg_co2eq']:.4g} kg"],
        ["total energy", f"{h['total_energy_kwh']:.4g} kWh"],
        ["mean per run", f"{h['mean_kg_co2eq_per_run']:.4g} kg"],
        ["largest run", f"{h['max_kg_co2eq']:.4g} kg"],
    ]
    parts += ["<h2>History</h2>", _table(["", ""], history_rows), "</body></html>\n"]
    return "".join(parts)


def _summary(report: Mapping[str, Any]) -> list[list[str]]:
    e = report["emissions"]
    intensity = e["carbon_intensity_g_per_kwh"]
    grid = e["country_iso_code"] + (f"/{e['region']}" if e["region"] else "")
    hardware = (e["cpu_model"] or "unknown CPU") + (f"; {e['gpu_model']}" if e["gpu_model"] else "")
    loss = report.get("eval_loss")
    return [
        ["CO2eq", _g(e["kg_co2eq"])],
        ["energy", _wh(e["energy_kwh"])],
        ["CPU / GPU / RAM", " / ".join(_wh(e[k]) for k in ("cpu_kwh", "gpu_kwh", "ram_kwh"))],
        ["mean power CPU / GPU", f"{e['cpu_power_w']:.3g} W / {e['gpu_power_w']:.3g} W"],
        ["duration", f"{e['duration_s']:.1f} s"],
        ["grid", f"{grid}, " + (f"{intensity:.0f} g/kWh" if intensity is not None else "n/a")],
        ["hardware", hardware],
        ["budget", f"{'within' if report['within_budget'] else 'OVER'} {report['budget_kg']:g} kg"],
        ["eval loss", "—" if loss is None else f"{loss:.4f}"],
    ]


def _phases(e: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["phase", "g CO2eq", "Wh", "CPU Wh", "GPU Wh", "RAM Wh", "s"]
    body = [
        [
            name,
            f"{p['kg_co2eq'] * 1000:.4g}",
            *(f"{p[k] * 1000:.4g}" for k in ("energy_kwh", "cpu_kwh", "gpu_kwh", "ram_kwh")),
            f"{p['duration_s']:.1f}",
        ]
        for name, p in e["phases"].items()
    ]
    return head, body


def _equivalencies(eq: Mapping[str, float]) -> list[list[str]]:
    labels = {
        "car_miles": "miles by car",
        "smartphone_charges": "smartphone charges",
        "tree_years": "tree-years of absorption",
        "tree_seedlings_10y": "tree seedlings grown 10 years",
    }
    return [[label, f"{eq[key]:.3g}"] for key, label in labels.items() if key in eq]


def _table(head: list[str], body: list[list[str]]) -> str:
    header = "".join(f"<th>{escape(c)}</th>" for c in head)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f'<div class="scroll"><table><tr>{header}</tr>{rows}</table></div>'


def _g(kg: float) -> str:
    return f"{kg * 1000:.4g} g"


def _wh(kwh: float) -> str:
    return f"{kwh * 1000:.4g} Wh"
