"""One run's carbon report: a JSON-ready dict (`emissions_report`) and its markdown.

The dict holds the result (phases nested), equivalencies, alerts, the budget and whether the run
stayed within it, the eval loss the alerts judged, and the history's totals. `to_markdown` is for
Dagster metadata or a model card; `emissions.html.to_html` renders the same dict as a page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from health_training.ml.emissions.alerts import DEFAULT_BUDGET_KG, recommendations, within_budget
from health_training.ml.emissions.equivalencies import equivalencies
from health_training.ml.emissions.history import summarize_history
from health_training.ml.emissions.result import EmissionsResult


def emissions_report(
    result: EmissionsResult,
    *,
    eval_loss: float | None,
    history: Sequence[Mapping[str, Any]],
    budget_kg: float = DEFAULT_BUDGET_KG,
) -> dict[str, Any]:
    """Everything a person or a check needs about one run's carbon, JSON-ready."""
    return {
        "emissions": result.to_dict(),
        "equivalencies": equivalencies(result.kg_co2eq),
        "alerts": [dataclasses.asdict(a) for a in recommendations(result, eval_loss=eval_loss)],
        "budget_kg": budget_kg,
        "within_budget": within_budget(result, budget_kg),
        "eval_loss": eval_loss,
        "history": summarize_history(history),
    }


def to_markdown(report: Mapping[str, Any]) -> str:
    """The report as markdown for Dagster metadata or a model card."""
    e, eq, h = report["emissions"], report["equivalencies"], report["history"]
    intensity = e["carbon_intensity_g_per_kwh"]
    lines = [
        "## Carbon footprint",
        "",
        "| | |",
        "|---|---|",
        f"| CO2eq | {e['kg_co2eq'] * 1000:.4g} g |",
        f"| Energy | {e['energy_kwh'] * 1000:.4g} Wh (CPU {e['cpu_kwh'] * 1000:.3g}, GPU {e['gpu_kwh'] * 1000:.3g}, RAM {e['ram_kwh'] * 1000:.3g}) |",
        f"| Duration | {e['duration_s']:.1f} s |",
        f"| Grid | {e['country_iso_code']}{'/' + e['region'] if e['region'] else ''}, {f'{intensity:.0f} g/kWh' if intensity is not None else 'n/a'} |",
        f"| Hardware | {e['cpu_model'] or 'unknown CPU'}{'; ' + e['gpu_model'] if e['gpu_model'] else ''} |",
        f"| Budget | {'within' if report['within_budget'] else 'OVER'} {report['budget_kg']:g} kg |",
        "",
        f"Power: {e['power_measurement']}.",
    ]
    if e["phases"]:
        lines += ["", "| Phase | g CO2eq | Wh | s |", "|---|---|---|---|"]
        for name, p in e["phases"].items():
            lines.append(
                f"| {name} | {p['kg_co2eq'] * 1000:.4g} | {p['energy_kwh'] * 1000:.4g} | {p['duration_s']:.1f} |"
            )
    lines += [
        "",
        f"Equivalent to {eq['car_miles']:.3g} miles by car, {eq['smartphone_charges']:.3g} smartphone "
        f"charges, {eq['tree_years']:.3g} tree-years or {eq['tree_seedlings_10y']:.3g} seedlings grown 10 years.",
        "",
    ]
    lines += [f"- **{a['severity']}** `{a['code']}`: {a['message']}" for a in report["alerts"]]
    lines += [] if report["alerts"] else ["No alerts."]
    lines += [
        "",
        f"History: {h['runs']} runs, {h['total_kg_co2eq']:.4g} kg CO2eq and "
        f"{h['total_energy_kwh']:.4g} kWh in total, {h['mean_kg_co2eq_per_run']:.4g} kg per run "
        f"on average, at most {h['max_kg_co2eq']:.4g} kg.",
    ]
    return "\n".join(lines) + "\n"
