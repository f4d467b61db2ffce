"""Carbon accounting for a training run: CodeCarbon's offline tracker, equivalencies, alerts, history.

One module per concern: `tracker` (CodeCarbon around a block, with phases), `result` (a parsed
emissions.csv row; phases combined), `power` (how CodeCarbon measured power), `grid` (a
country's carbon intensity), `equivalencies` (EPA), `alerts` (the spec's thresholds, advice, the
budget), `history` (every run in a JSONL file), `estimate` (before a run), `report` (the dict and
its markdown), `html` and `charts` (the report as a self-contained page).

    with track_emissions(Path("var/runs/r1"), project="health", country_iso_code="FRA") as run:
        with run.phase("training"):
            trainer.train()
        with run.phase("evaluation"):
            evaluate()
    report = emissions_report(run.result, eval_loss=1.4, history=[])
    markdown, page = to_markdown(report), to_html(report)
"""

from __future__ import annotations

from health_training.ml.emissions.alerts import (
    CLEAN_GRID_G_PER_KWH,
    DEFAULT_BUDGET_KG,
    HIGH_EMISSIONS_KG,
    LONG_RUN_S,
    POOR_CONVERGENCE_LOSS,
    Alert,
    recommendations,
    within_budget,
)
from health_training.ml.emissions.carbon_report import emissions_report, to_markdown
from health_training.ml.emissions.equivalencies import (
    KG_CO2_PER_CAR_MILE,
    KG_CO2_PER_SMARTPHONE_CHARGE,
    KG_CO2_PER_TREE_SEEDLING_10Y,
    KG_CO2_PER_TREE_YEAR,
    equivalencies,
)
from health_training.ml.emissions.estimate import RunEstimate, estimate_run
from health_training.ml.emissions.grid import country_carbon_intensity
from health_training.ml.emissions.history import append_history, read_history, summarize_history
from health_training.ml.emissions.html import to_html
from health_training.ml.emissions.result import UNKNOWN_POWER, EmissionsResult, combine_results
from health_training.ml.emissions.tracker import (
    EMISSIONS_CSV,
    PHASES_CSV,
    EmissionsHandle,
    EmissionsTrackingError,
    read_emissions_row,
    track_emissions,
)

__all__ = [
    "CLEAN_GRID_G_PER_KWH",
    "DEFAULT_BUDGET_KG",
    "EMISSIONS_CSV",
    "HIGH_EMISSIONS_KG",
    "KG_CO2_PER_CAR_MILE",
    "KG_CO2_PER_SMARTPHONE_CHARGE",
    "KG_CO2_PER_TREE_SEEDLING_10Y",
    "KG_CO2_PER_TREE_YEAR",
    "LONG_RUN_S",
    "PHASES_CSV",
    "POOR_CONVERGENCE_LOSS",
    "UNKNOWN_POWER",
    "Alert",
    "EmissionsHandle",
    "EmissionsResult",
    "EmissionsTrackingError",
    "RunEstimate",
    "append_history",
    "combine_results",
    "country_carbon_intensity",
    "emissions_report",
    "equivalencies",
    "estimate_run",
    "read_emissions_row",
    "read_history",
    "recommendations",
    "summarize_history",
    "to_html",
    "to_markdown",
    "track_emissions",
    "within_budget",
]
