"""Monthly narrative assets: `raw_narratives` (ingest + quarantine) and `curated_narratives`
(filters, PHI scrub, pseudonyms, global dedup). Both run a month range in one run
(`BackfillPolicy.single_run()`), month by month in order. A month with no input is a clear
outcome: zero rows, the reason in the metadata, a failing WARN check, and no drift score (so no
sensor retrains on it). What a month stores: data/month_stages.py; what it shows people: below."""

from collections import Counter
from typing import Any

import dagster as dg

from health_training.data import layout
from health_training.data.curation import CurationResult, curate
from health_training.data.dataset_repository import DatasetRepository
from health_training.data.ingest import MonthIngest
from health_training.data.month_stages import (
    drift_of_month,
    empty_reason,
    store_curated_month,
    store_raw_month,
)
from health_training.defs.data import checks
from health_training.defs.data.config import DataPolicyConfig
from health_training.defs.data.partitions import monthly_partitions
from health_training.defs.handoff import latest_version
from health_training.defs.metadata import md_table
from health_training.resources import PhiResource, Storage


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="data",
    kinds={"json"},
    check_specs=checks.RAW_CHECK_SPECS,
)
def raw_narratives(
    context: dg.AssetExecutionContext, config: DataPolicyConfig, storage: Storage
) -> dg.MaterializeResult:
    """Every domain file of the month, parsed (ETL, Alpaca, ShareGPT or OpenAI chat) and normalized.

    Each line is accepted or quarantined to `<file>.quarantine.jsonl` beside its source with the
    line number and a reason; accepted + quarantined always equals lines read."""
    policy = config.load()
    totals, rows, empty = Counter(), [], []
    for month in context.partition_keys:
        result = store_raw_month(storage, month, policy, warn=context.log.warning)
        context.add_asset_metadata(raw_month_metadata(storage, month, result), partition_key=month)
        totals.update(
            lines=result.lines_read,
            accepted=len(result.accepted),
            quarantined=len(result.quarantined),
        )
        rows.append((month, result.lines_read, len(result.accepted), len(result.quarantined)))
        if not result.accepted:
            empty.append(month)
    return dg.MaterializeResult(
        metadata={"run_months": md_table(("month", "lines", "accepted", "quarantined"), rows)},
        check_results=checks.raw_check_results(
            totals["lines"],
            totals["accepted"],
            totals["quarantined"],
            policy.checks.quarantine_warn_share,
            empty_months=empty,
        ),
    )


@dg.asset(
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="data",
    kinds={"json"},
    deps=[raw_narratives],
    check_specs=checks.CURATED_CHECK_SPECS,
)
def curated_narratives(
    context: dg.AssetExecutionContext, config: DataPolicyConfig, storage: Storage, phi: PhiResource
) -> dg.MaterializeResult:
    """The month's examples after the OLMo spec's filters, the HIPAA Safe Harbor PHI scrub,
    HMAC pseudonyms for user ids, and exact dedup against every other curated month."""
    policy, repo = config.load(), DatasetRepository(storage)
    pseudonymize = phi.pseudonymizer() if policy.phi.pseudonymize_user_ids else None
    baseline = repo.profile(latest_version(context))
    residual, kept_all, drift, rows = Counter(), [], {}, []
    for month in context.partition_keys:
        examples = repo.raw_accepted(month)
        result = curate(
            examples,
            policy.filters,
            policy.phi,
            seen_keys=repo.keys_of_other_months(month),
            pseudonymize=pseudonymize,
        )
        store_curated_month(storage, month, result, key_fingerprint=phi.fingerprint())
        found = drift_of_month(storage, month, baseline, result.kept, policy.checks.drift_threshold)
        drift.update({month: found} if found else {})
        context.add_asset_metadata(
            curated_month_metadata(storage, month, result, found), partition_key=month
        )
        residual.update(result.residual_phi)
        kept_all.extend(result.kept)
        rows.append((month, result.examples_in, len(result.kept), sum(result.dropped.values())))
    return dg.MaterializeResult(
        metadata={"run_months": md_table(("month", "in", "kept", "dropped"), rows)},
        check_results=checks.curated_check_results(kept_all, dict(residual), drift),
    )


def raw_month_metadata(storage: Storage, month: str, result: MonthIngest) -> dict[str, Any]:
    files = [(f.key, f.format, f.lines_read, f.accepted, f.quarantined) for f in result.files]
    meta: dict[str, Any] = {
        "lines_read": result.lines_read,
        "accepted": len(result.accepted),
        "quarantined": len(result.quarantined),
        "quarantined_by_reason": dg.MetadataValue.json(result.quarantine_reasons),
        "files": md_table(("file", "format", "lines", "accepted", "quarantined"), files),
        "accepted_examples": dg.MetadataValue.path(storage.uri(layout.raw_accepted(month))),
    }
    reason = empty_reason(result, storage)
    if reason:
        meta["empty_reason"] = reason
    return meta


def curated_month_metadata(
    storage: Storage, month: str, result: CurationResult, drift: dict[str, Any] | None
) -> dict[str, Any]:
    by_category = Counter(ex.metadata.get("training_category", "unknown") for ex in result.kept)
    meta: dict[str, Any] = {
        "examples_in": result.examples_in,
        "kept": len(result.kept),
        "dropped_by_reason": dg.MetadataValue.json(dict(Counter(result.dropped).most_common())),
        "phi_scrubbed_by_type": dg.MetadataValue.json(
            dict(Counter(result.phi_scrubbed).most_common())
        ),
        "phi_ner_gate": dg.MetadataValue.json(result.phi_ner),
        "residual_phi": dg.MetadataValue.json(result.residual_phi),
        "by_category": md_table(("category", "examples"), sorted(by_category.items())),
        "examples": dg.MetadataValue.path(storage.uri(layout.curated_examples(month))),
    }
    if drift is not None:
        components = {k: round(v, 4) for k, v in drift.items() if k not in ("score", "threshold")}
        meta |= {
            "drift_score": round(drift["score"], 4),
            "drift_threshold": drift["threshold"],
            "drift_components": dg.MetadataValue.json(components),
        }
    if not result.examples_in:
        meta["empty_reason"] = f"raw_narratives accepted nothing for {month}"
    return meta
