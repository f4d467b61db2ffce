"""Read-only views the admin and query clients share: training emissions from MLflow (every
training run's kg CO2eq and kWh, as `registered_model` logged them) and the current training
dataset's manifest (counts per split and domain, no text)."""

from __future__ import annotations

from typing import Any

from health_training.constants import BASE_MODEL_RUN_TAG, DATASET_VERSION_RUN_TAG, REASON_RUN_TAG

RUN_PAGE = 500
MAX_RUNS = 10_000  # a footprint over more runs than this says it is partial


def training_history(registry: Any, limit: int = MAX_RUNS) -> list[dict[str, Any]]:
    """Training runs, newest first, with their emissions and the version they registered."""
    import datetime as dt

    client = registry.client
    experiment = client.get_experiment_by_name(registry.experiment)
    if experiment is None:
        return []
    registered = {
        mv.run_id: str(mv.version)
        for mv in client.search_model_versions(f"name='{registry.model_name}'")
        if mv.run_id
    }
    out: list[dict[str, Any]] = []
    token = None
    while len(out) < limit:
        page = client.search_runs(
            [experiment.experiment_id],
            order_by=["attributes.start_time DESC"],
            max_results=min(RUN_PAGE, limit - len(out)),
            page_token=token,
        )
        for run in page:
            metrics, tags = run.data.metrics, run.data.tags
            started = run.info.start_time
            out.append(
                {
                    "run_id": run.info.run_id,
                    "run_name": run.info.run_name,
                    "status": run.info.status,
                    "started_at": dt.datetime.fromtimestamp(started / 1000, dt.UTC).isoformat()
                    if started
                    else None,
                    "reason": tags.get(REASON_RUN_TAG),
                    "base_model": tags.get(BASE_MODEL_RUN_TAG),
                    "dataset_version": tags.get(DATASET_VERSION_RUN_TAG),
                    "kg_co2eq": metrics.get("kg_co2eq"),
                    "energy_kwh": metrics.get("energy_kwh"),
                    "tokens_per_second": metrics.get("tokens_per_second"),
                    "registered_version": registered.get(run.info.run_id),
                }
            )
        token = page.token
        if not token:
            break
    return out


def total_footprint(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Sums over the history, per training reason too; runs without figures are counted apart."""
    measured = [r for r in history if r["kg_co2eq"] is not None]
    by_reason: dict[str, dict[str, float]] = {}
    for run in measured:
        entry = by_reason.setdefault(run["reason"] or "unknown", {"runs": 0, "kg_co2eq": 0.0})
        entry["runs"] += 1
        entry["kg_co2eq"] += run["kg_co2eq"]
    return {
        "runs": len(history),
        "runs_with_emissions": len(measured),
        "kg_co2eq": sum(r["kg_co2eq"] for r in measured),
        "energy_kwh": sum(r["energy_kwh"] or 0.0 for r in measured),
        "by_reason": by_reason,
        "partial": len(history) >= MAX_RUNS,
    }


def dataset_stats(storage: Any, served_dataset: str | None) -> dict[str, Any]:
    """The newest training dataset's manifest, and which version the served model learned from."""
    from health_training.data.dataset_repository import DatasetRepository

    repo = DatasetRepository(storage)
    versions = repo.versions()
    if not versions:
        return {"current_version": None, "manifest": None, "served_model_dataset": served_dataset}
    return {
        "current_version": versions[-1],
        "versions": len(versions),
        "manifest": repo.manifest(versions[-1]),
        "served_model_dataset": served_dataset,
    }
