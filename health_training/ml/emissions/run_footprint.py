"""The carbon footprint of one training run, as `emissions_report` builds it: combine the run's
training and evaluation phases (read from storage), append the installation's history, build the
report with the budget of the promotion policy, and store it as JSON, Markdown and HTML beside
the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from health_training.data import layout
from health_training.data.blob_storage import BlobStorage
from health_training.ml.training.run_artifacts import RunArtifacts


def build_and_store_footprint(
    identity: str,
    eval_loss: float | None,
    *,
    storage: BlobStorage,
    runs_dir: Path,
    dagster_run_id: str,
) -> tuple[dict[str, Any], Any, dict[str, str]]:
    """(the report, the combined EmissionsResult, the storage keys of the JSON, Markdown and HTML
    reports and the Markdown itself). FileNotFoundError when a phase was never measured."""
    from health_training.ml.emissions import (
        EmissionsResult,
        combine_results,
        emissions_report,
        to_html,
        to_markdown,
    )
    from health_training.ml.registry.promotion_gate import load_gate_policy

    artifacts = RunArtifacts(storage, runs_dir)
    phases = {}
    for phase in ("training", "evaluation"):
        try:
            raw = artifacts.read(identity, f"emissions_{phase}.json")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{storage.uri(layout.model_run(identity))} has no {phase} emissions: "
                "materialize lora_adapter and eval_report first"
            ) from None
        phases[phase] = EmissionsResult.from_dict(json.loads(raw))
    total = combine_results(phases)
    past = storage.read_optional(layout.EMISSIONS_HISTORY) or b""
    entry = {"identity": identity, "dagster_run_id": dagster_run_id, **total.to_dict()}
    storage.write_bytes(layout.EMISSIONS_HISTORY, past + orjson.dumps(entry, default=str) + b"\n")
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
