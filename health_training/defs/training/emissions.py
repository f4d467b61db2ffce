"""`emissions_report`: the carbon footprint of a training run (training + evaluation phases),
with the OLMo spec's equivalencies, alerts (WARN checks) and a blocking per-run budget."""

import json
from pathlib import Path

import dagster as dg

from health_training.assets.model import _latest, eval_report, lora_adapter
from health_training.resources import CarbonResource, TrainingResource

EMISSIONS_CHECKS = [
    dg.AssetCheckSpec(
        "within_carbon_budget",
        asset="emissions_report",
        blocking=True,
        description="The run's kg CO2eq is within the per-run budget (default 3 kg).",
    ),
    dg.AssetCheckSpec(
        "high_emissions",
        asset="emissions_report",
        description="WARN above 10 kg CO2eq for one run.",
    ),
    dg.AssetCheckSpec(
        "poor_convergence",
        asset="emissions_report",
        description="WARN when the fine-tuned eval loss is above 2.0.",
    ),
    dg.AssetCheckSpec("long_run", asset="emissions_report", description="WARN above 24 hours."),
]


@dg.asset(
    group_name="training",
    kinds={"codecarbon"},
    deps=[lora_adapter, eval_report],
    check_specs=EMISSIONS_CHECKS,
)
def emissions_report(
    context: dg.AssetExecutionContext, training: TrainingResource, carbon: CarbonResource
) -> dg.MaterializeResult:
    """kg CO2eq, kWh split CPU/GPU/RAM, carbon intensity, duration and how power was measured,
    for training and evaluation; equivalencies, recommendations and the history of all runs."""
    from health_training.ml.emissions import (
        EmissionsResult,
        append_history,
        combine_results,
        to_markdown,
    )
    from health_training.ml.emissions import (
        emissions_report as build_report,
    )

    latest = _latest(training)
    run_dir = Path(latest["run_dir"])
    phases = {}
    for phase in ("training", "evaluation"):
        path = run_dir / f"emissions_{phase}.json"
        if not path.exists():
            raise dg.Failure(f"{path} is missing: materialize lora_adapter and eval_report first")
        phases[phase] = EmissionsResult.from_dict(json.loads(path.read_text()))
    total = combine_results(phases)
    eval_path = run_dir / "eval" / "eval_report.json"
    eval_loss = (
        json.loads(eval_path.read_text())["models"]["finetuned"]["overall"]["eval_loss"]
        if eval_path.exists()
        else None
    )
    history = append_history(
        training.runs_dir / "emissions_history.jsonl",
        {
            "identity": latest["identity"],
            "dagster_run_id": context.run.run_id,
            **total.to_dict(),
        },
    )
    report = build_report(total, eval_loss=eval_loss, history=history, budget_kg=carbon.budget_kg)
    (run_dir / "emissions_report.json").write_text(json.dumps(report, indent=2, default=str))
    markdown = to_markdown(report)
    (run_dir / "emissions_report.md").write_text(markdown)
    alerts = {a["code"] for a in report["alerts"]}
    warn = dg.AssetCheckSeverity.WARN
    return dg.MaterializeResult(
        metadata={
            "kg_co2eq": total.kg_co2eq,
            "energy_kwh": total.energy_kwh,
            "cpu_kwh": total.cpu_kwh,
            "gpu_kwh": total.gpu_kwh,
            "ram_kwh": total.ram_kwh,
            "carbon_intensity_g_per_kwh": total.carbon_intensity_g_per_kwh,
            "duration_s": total.duration_s,
            "country": total.country_iso_code,
            "power_measurement": total.power_measurement,
            "equivalencies": dg.MetadataValue.json(report["equivalencies"]),
            "total_footprint_kg": report["history"].get("total_kg_co2eq"),
            "report": dg.MetadataValue.md(markdown),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="within_carbon_budget",
                passed=report["within_budget"],
                metadata={"kg_co2eq": total.kg_co2eq, "budget_kg": carbon.budget_kg},
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
            dg.AssetCheckResult(
                check_name="long_run", passed="long_run" not in alerts, severity=warn
            ),
        ],
    )
