"""What `emissions_report` does: combine the run's training and evaluation phases (read from
storage), append the installation's history, build the report with the budget of the promotion
policy, store it as JSON, Markdown and HTML, and turn its alerts into check results."""

from __future__ import annotations

import json
from typing import Any

import dagster as dg
import orjson

from health_training.data import layout
from health_training.ml.run_artifacts import RunArtifacts
from health_training.resources import Storage, TrainingResource

EMISSIONS_HISTORY = "models/emissions_history.jsonl"


def build_and_store(
    identity: str,
    eval_loss: float | None,
    *,
    storage: Storage,
    training: TrainingResource,
    dagster_run_id: str,
) -> tuple[dict[str, Any], Any, dict[str, str]]:
    from health_training.ml.emissions import (
        EmissionsResult,
        combine_results,
        emissions_report,
        to_html,
        to_markdown,
    )
    from health_training.ml.gate import load_gate_policy

    artifacts = RunArtifacts(storage, training.runs_dir)
    phases = {}
    for phase in ("training", "evaluation"):
        try:
            raw = artifacts.read(identity, f"emissions_{phase}.json")
        except FileNotFoundError:
            raise dg.Failure(
                f"{storage.uri(layout.model_run(identity))} has no {phase} emissions: "
                "materialize lora_adapter and eval_report first"
            ) from None
        phases[phase] = EmissionsResult.from_dict(json.loads(raw))
    total = combine_results(phases)
    past = storage.read_optional(EMISSIONS_HISTORY) or b""
    entry = {"identity": identity, "dagster_run_id": dagster_run_id, **total.to_dict()}
    storage.write_bytes(EMISSIONS_HISTORY, past + orjson.dumps(entry, default=str) + b"\n")
    history = [
        orjson.loads(line) for line in (past + orjson.dumps(entry, default=str)).splitlines()
    ]
    report = emissions_report(
        total,
        eval_loss=eval_loss,
        history=history,
        budget_kg=load_gate_policy().carbon_budget_kg,
    )
    markdown = to_markdown(report)
    keys = {
        "json": artifacts.write(
            identity, "emissions/report.json", json.dumps(report, indent=2, default=str).encode()
        ),
        "md": artifacts.write(identity, "emissions/report.md", markdown.encode()),
        "html": artifacts.write(identity, "emissions/report.html", to_html(report).encode()),
        "markdown": markdown,
    }
    return report, total, keys


def check_results(
    report: dict[str, Any], total: Any, eval_loss: float | None
) -> list[dg.AssetCheckResult]:
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
