"""`emissions_report`: the carbon footprint of one training run (training + evaluation phases),
with the OLMo spec's equivalencies, alerts (WARN checks) and a blocking per-run budget (the
promotion policy's `carbon_budget_kg`). Phases and reports live in the storage resource."""

from typing import Any

import dagster as dg

from health_training.defs.handoff import upstream
from health_training.defs.phase_clock import announce_phase
from health_training.defs.training.eval_report import eval_report
from health_training.resources import Storage, TrainingResource

EMISSIONS_CHECKS = [
    dg.AssetCheckSpec(
        "within_carbon_budget",
        asset="emissions_report",
        blocking=True,
        description="The run's kg CO2eq is within the per-run budget (promotion.yaml).",
    ),
    dg.AssetCheckSpec(
        "high_emissions", asset="emissions_report", description="WARN above 10 kg CO2eq a run."
    ),
    dg.AssetCheckSpec(
        "poor_convergence",
        asset="emissions_report",
        description="WARN when the fine-tuned response-token loss is above 2.0.",
    ),
    dg.AssetCheckSpec("long_run", asset="emissions_report", description="WARN above 24 hours."),
]


@dg.asset(
    group_name="training", kinds={"codecarbon"}, deps=[eval_report], check_specs=EMISSIONS_CHECKS
)
def emissions_report(
    context: dg.AssetExecutionContext, storage: Storage, training: TrainingResource
) -> dg.MaterializeResult:
    """kg CO2eq, kWh split CPU/GPU/RAM, carbon intensity, duration and how power was measured,
    for training and evaluation; equivalencies, recommendations and the history of all runs."""
    # Imported here: the emissions package is not needed to load the definitions.
    from health_training.ml.emissions.run_footprint import build_and_store_footprint

    announce_phase(context)
    evaluated = upstream(context, "eval_report")
    try:
        report, total, keys = build_and_store_footprint(
            str(evaluated["run_identity"]),
            evaluated.get("eval_loss_finetuned"),
            storage=storage,
            runs_dir=training.runs_dir,
            dagster_run_id=context.run_id,
        )
    except FileNotFoundError as exc:  # a phase was never measured: say which to materialize
        raise dg.Failure(str(exc)) from None
    return dg.MaterializeResult(
        metadata={
            "run_identity": str(evaluated["run_identity"]),
            "kg_co2eq": round(total.kg_co2eq, 6),
            "energy_kwh": round(total.energy_kwh, 6),
            "cpu_kwh": round(total.cpu_kwh, 6),
            "gpu_kwh": round(total.gpu_kwh, 6),
            "ram_kwh": round(total.ram_kwh, 6),
            "carbon_intensity_g_per_kwh": round(total.carbon_intensity_g_per_kwh, 1),
            "duration_s": round(total.duration_s, 1),
            "country": total.country_iso_code,
            "power_measurement": total.power_measurement,
            "equivalencies": dg.MetadataValue.json(report["equivalencies"]),
            "total_footprint_kg": report["history"].get("total_kg_co2eq"),
            "report": dg.MetadataValue.md(keys["markdown"]),
            "html": dg.MetadataValue.path(storage.uri(keys["html"])),
        },
        check_results=check_results(report, total, evaluated.get("eval_loss_finetuned")),
    )


def check_results(
    report: dict[str, Any], total: Any, eval_loss: float | None
) -> list[dg.AssetCheckResult]:
    """The report's budget verdict and alerts as the asset's check results."""
    alerts = {a["code"] for a in report["alerts"]}
    warn = dg.AssetCheckSeverity.WARN
    return [
        dg.AssetCheckResult(
            check_name="within_carbon_budget",
            passed=report["within_budget"],
            metadata={"kg_co2eq": total.kg_co2eq, "budget_kg": report.get("budget_kg")},
        ),
        dg.AssetCheckResult(
            check_name="high_emissions", passed="high_emissions" not in alerts, severity=warn
        ),
        dg.AssetCheckResult(
            check_name="poor_convergence",
            passed="poor_convergence" not in alerts,
            severity=warn,
            metadata={"eval_loss": eval_loss},
        ),
        dg.AssetCheckResult(check_name="long_run", passed="long_run" not in alerts, severity=warn),
    ]
