"""The spec's alerts on a run's carbon, the advice each one triggers, and the carbon budget.

Each alert fires strictly above its threshold: more than 10 kg CO2eq, an eval loss above 2.0
(poor convergence), a run longer than 24 hours. Moving to a cleaner region is advised only when
the grid is dirtier than `CLEAN_GRID_G_PER_KWH`.
"""

from __future__ import annotations

from dataclasses import dataclass

from health_training.ml.emissions.result import EmissionsResult

HIGH_EMISSIONS_KG = 10.0
POOR_CONVERGENCE_LOSS = 2.0
LONG_RUN_S = 24 * 3600.0
DEFAULT_BUDGET_KG = 3.0
# Advise moving only when the grid is dirtier than this (France, mostly nuclear, is about 56).
CLEAN_GRID_G_PER_KWH = 100.0


@dataclass(frozen=True)
class Alert:
    code: str
    severity: str  # "warning": a threshold was crossed; "info": advice that follows from one
    message: str


def recommendations(result: EmissionsResult, *, eval_loss: float | None) -> list[Alert]:
    """The spec's alerts (strictly above each threshold) and the advice each one triggers."""
    alerts: list[Alert] = []

    def add(code: str, severity: str, message: str) -> None:
        alerts.append(Alert(code, severity, message))

    intensity = result.carbon_intensity_g_per_kwh
    if result.kg_co2eq > HIGH_EMISSIONS_KG:
        message = f"high emissions: {result.kg_co2eq:.2f} kg CO2eq > {HIGH_EMISSIONS_KG:g} kg"
        add("high_emissions", "warning", message)
        if intensity is not None and intensity > CLEAN_GRID_G_PER_KWH:
            add(
                "lower_carbon_region",
                "info",
                f"use a lower-carbon region (intensity {intensity:.0f} g/kWh here; "
                f"France is 56 in CodeCarbon's data)",
            )
        add("smaller_profile", "info", "use QLoRA (4-bit base) or a smaller model profile")
    if eval_loss is not None and eval_loss > POOR_CONVERGENCE_LOSS:
        add(
            "poor_convergence",
            "warning",
            f"poor convergence: eval loss {eval_loss:.3f} > {POOR_CONVERGENCE_LOSS:g}; "
            "check the learning rate and data format before training longer",
        )
    if result.duration_s > LONG_RUN_S:
        hours = result.duration_s / 3600
        add("long_run", "warning", f"long run: {hours:.1f} h > {LONG_RUN_S / 3600:g} h")
        add("early_stopping", "info", "reduce epochs with early stopping on eval loss")
    return alerts


def within_budget(result: EmissionsResult, budget_kg: float = DEFAULT_BUDGET_KG) -> bool:
    """True when the run emitted no more than the budget."""
    return result.kg_co2eq <= budget_kg
