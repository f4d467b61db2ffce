"""How a downstream asset finds what its upstream produced: the upstream's materialization.

Inside one run (`train_and_register`) an asset reads its upstream's materialization *of that
run*, so two training runs that overlap on a two-GPU pool never evaluate or register each
other's adapters. An asset materialized on its own reads its upstream's latest materialization.
The metadata a model-plane asset records (run identity, dataset version, storage keys) is the
hand-off: nothing passes through a mutable file, and the lineage shows in the UI.
"""

from __future__ import annotations

from typing import Any

import dagster as dg


def _values(materialization: dg.AssetMaterialization) -> dict[str, Any]:
    return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}


def upstream(context: Any, asset: str) -> dict[str, Any]:
    """The metadata of `asset`'s materialization in this run, else its latest one; the run id
    that produced it under `dagster_run_id`. Fails clearly when it was never materialized."""
    key = dg.AssetKey(asset)
    instance = context.instance
    records = instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in reversed(records):
        mat = record.event_log_entry.asset_materialization
        if mat is not None and mat.asset_key == key:
            return {**_values(mat), "dagster_run_id": context.run_id}
    latest = instance.fetch_materializations(key, limit=1).records
    if not latest or latest[0].asset_materialization is None:
        raise dg.Failure(f"{asset} has never been materialized: materialize it first")
    return {**_values(latest[0].asset_materialization), "dagster_run_id": latest[0].run_id}


def latest_version(context: Any, asset: str = "training_dataset") -> str | None:
    """The dataset version `asset`'s latest materialization recorded, or None (none yet)."""
    records = context.instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("version")
    return str(value.value) if value is not None else None
