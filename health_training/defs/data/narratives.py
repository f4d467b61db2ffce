"""Monthly narrative assets: `raw_narratives` (ingest + quarantine) and `curated_narratives`
(filters, PHI scrub, pseudonyms, global dedup). Both run a month range in one run
(`BackfillPolicy.single_run()`), month by month in order."""

from collections import Counter

import dagster as dg
import orjson
from pydantic import Field

from health_training import checks
from health_training.data import layout
from health_training.data.config import load_data_config
from health_training.data.curation import curate
from health_training.data.dataset import to_row
from health_training.data.drift import Profile, compare, profile_of
from health_training.data.ingest import ingest_month, is_input_file, quarantine_key
from health_training.data.records import examples_from_jsonl, examples_to_jsonl
from health_training.partitions import month_of, monthly_partitions
from health_training.resources import PhiResource, Storage


class DataPolicyConfig(dg.Config):
    """Which data policy YAML to use, with the few overrides people change most."""

    config_path: str | None = Field(
        default=None, description="Data policy YAML; default: the bundled configs/data.yaml."
    )
    format: str | None = Field(
        default=None, description="auto | etl | alpaca | sharegpt | openai (overrides the YAML)."
    )
    min_quality_score: float | None = Field(
        default=None, description="Override filters.min_quality_score."
    )

    def load(self):
        overrides = {}
        if self.format:
            overrides["ingest.format"] = self.format
        if self.min_quality_score is not None:
            overrides["filters.min_quality_score"] = self.min_quality_score
        return load_data_config(self.config_path, **overrides)


def _table(header: tuple[str, ...], rows: list[tuple]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


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
    line number and a reason; accepted + quarantined always equals lines read.
    """
    policy = config.load()
    inputs = [k for k in storage.list_keys(layout.TRAINING_PREFIX) if is_input_file(k)]
    per_month, totals = [], Counter()
    for partition_key in context.partition_keys:
        month = month_of(partition_key)
        files = []
        keys = [k for k in inputs if layout.month_of_input(k) == month]
        if not keys:
            context.log.warning(
                f"no input files for {month} under {storage.uri(layout.TRAINING_PREFIX)}"
            )
        contents = {k: storage.read_bytes(k) for k in keys}
        result = ingest_month(month, contents, policy.format, policy.vocabulary)
        for summary in result.files:
            bad = [q for q in result.quarantined if q.source == summary.key]
            qkey = quarantine_key(summary.key)
            if bad:
                storage.write_bytes(qkey, b"".join(orjson.dumps(q.to_dict()) + b"\n" for q in bad))
                context.log.warning(
                    f"{len(bad)} of {summary.lines_read} records quarantined to "
                    f"{storage.uri(qkey)}; first: {bad[0].message()}"
                )
            elif storage.exists(qkey):
                storage.delete(qkey)  # a corrected file leaves no stale quarantine behind
            files.append(
                (
                    summary.key,
                    summary.format,
                    summary.lines_read,
                    summary.accepted,
                    summary.quarantined,
                )
            )
        storage.write_bytes(layout.raw_accepted(month), examples_to_jsonl(result.accepted))
        summary_doc = {
            "month": month,
            "lines_read": result.lines_read,
            "accepted": len(result.accepted),
            "quarantined": len(result.quarantined),
            "quarantine_reasons": result.quarantine_reasons,
            "files": [f.key for f in result.files],
        }
        storage.write_bytes(
            layout.raw_summary(month), orjson.dumps(summary_doc, option=orjson.OPT_INDENT_2)
        )
        context.add_asset_metadata(
            {
                "lines_read": result.lines_read,
                "accepted": len(result.accepted),
                "quarantined": len(result.quarantined),
                "quarantined_by_reason": dg.MetadataValue.json(result.quarantine_reasons),
                "files": _table(("file", "format", "lines", "accepted", "quarantined"), files),
                "accepted_examples": dg.MetadataValue.path(storage.uri(layout.raw_accepted(month))),
            },
            partition_key=partition_key,
        )
        totals.update(
            lines=result.lines_read,
            accepted=len(result.accepted),
            quarantined=len(result.quarantined),
        )
        per_month.append((month, result.lines_read, len(result.accepted), len(result.quarantined)))
    return dg.MaterializeResult(
        metadata={"run_months": _table(("month", "lines", "accepted", "quarantined"), per_month)},
        check_results=checks.raw_check_results(
            totals["lines"],
            totals["accepted"],
            totals["quarantined"],
            policy.checks.quarantine_warn_share,
        ),
    )


def _drift_baseline(storage: Storage) -> Profile | None:
    """The current training dataset's train-split profile, if a dataset exists yet."""
    if not storage.exists(layout.CURRENT_DATASET):
        return None
    version = orjson.loads(storage.read_bytes(layout.CURRENT_DATASET))["version"]
    raw = storage.read_optional(layout.dataset_profile(version))
    return Profile.from_dict(orjson.loads(raw)) if raw else None


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
    policy = config.load()
    pseudonymize = phi.pseudonymizer() if policy.phi.pseudonymize_user_ids else None
    residual: Counter[str] = Counter()
    per_month, kept_all, drift = [], [], {}
    baseline = _drift_baseline(storage)
    for partition_key in context.partition_keys:
        month = month_of(partition_key)
        # Keys kept by *other* months, read now so months earlier in this run are included.
        seen: set[str] = set()
        for key in storage.list_keys(layout.CURATED_PREFIX):
            if key.endswith("/keys.txt") and key != layout.curated_keys(month):
                seen.update(storage.read_bytes(key).decode().split())
        examples = examples_from_jsonl(storage.read_bytes(layout.raw_accepted(month)))
        result = curate(
            examples, policy.filters, policy.phi, seen_keys=seen, pseudonymize=pseudonymize
        )
        storage.write_bytes(layout.curated_examples(month), examples_to_jsonl(result.kept))
        storage.write_bytes(
            layout.curated_keys(month),
            "\n".join(ex.metadata["content_key"] for ex in result.kept).encode(),
        )
        summary = {
            "month": month,
            "examples_in": result.examples_in,
            "kept": len(result.kept),
            "dropped": result.dropped,
            "phi_scrubbed": result.phi_scrubbed,
            "residual_phi": result.residual_phi,
        }
        storage.write_bytes(
            layout.curated_summary(month), orjson.dumps(summary, option=orjson.OPT_INDENT_2)
        )
        by_category = Counter(ex.metadata.get("training_category", "unknown") for ex in result.kept)
        month_drift = {}
        if baseline is not None:
            found = compare(baseline, profile_of(to_row(ex) for ex in result.kept))
            month_drift = {
                "drift_score": found.score,
                "drift_components": dg.MetadataValue.json(found.components),
            }
            drift[month] = {"score": found.score, "threshold": found.threshold, **found.components}
            storage.write_bytes(layout.curated_drift(month), orjson.dumps(drift[month]))
        context.add_asset_metadata(
            {
                **month_drift,
                "examples_in": result.examples_in,
                "kept": len(result.kept),
                "dropped_by_reason": dg.MetadataValue.json(
                    dict(Counter(result.dropped).most_common())
                ),
                "phi_scrubbed_by_type": dg.MetadataValue.json(
                    dict(Counter(result.phi_scrubbed).most_common())
                ),
                "residual_phi": dg.MetadataValue.json(result.residual_phi),
                # NER share: texts and sentences the PHI gate sent to the spaCy model vs cleared.
                "phi_ner_gate": dg.MetadataValue.json(result.phi_ner),
                "by_category": _table(("category", "examples"), sorted(by_category.items())),
                "examples": dg.MetadataValue.path(storage.uri(layout.curated_examples(month))),
            },
            partition_key=partition_key,
        )
        residual.update(result.residual_phi)
        per_month.append(
            (month, result.examples_in, len(result.kept), sum(result.dropped.values()))
        )
        kept_all.extend(result.kept)
    return dg.MaterializeResult(
        metadata={"run_months": _table(("month", "in", "kept", "dropped"), per_month)},
        check_results=checks.curated_check_results(kept_all, dict(residual), drift),
    )
