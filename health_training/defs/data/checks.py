"""Asset checks of the data plane.

Monthly assets emit their checks from the asset body (the numbers are computed there, and
partitioned checks are still preview in Dagster 1.13); the dataset checks are standalone and
check the version training_dataset's latest materialization recorded, so they can be re-run from
the UI on their own.
"""

from collections.abc import Sequence

import dagster as dg

from health_training.data.dataset_repository import DatasetRepository
from health_training.data.records import Example, schema_problems
from health_training.defs.handoff import latest_version
from health_training.resources import Storage

RAW_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "lines_accounted_for",
        asset="raw_narratives",
        blocking=True,
        description="accepted + quarantined equals lines read: nothing is lost.",
    ),
    dg.AssetCheckSpec(
        "quarantine_share",
        asset="raw_narratives",
        description="WARN when the quarantined share of lines is above the policy threshold.",
    ),
    dg.AssetCheckSpec(
        "has_data",
        asset="raw_narratives",
        description="WARN when a month of the run has no input files or nothing accepted.",
    ),
]

CURATED_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "schema",
        asset="curated_narratives",
        blocking=True,
        description="Every curated example has non-empty text fields and typed ETL metadata.",
    ),
    dg.AssetCheckSpec(
        "no_residual_phi",
        asset="curated_narratives",
        blocking=True,
        description="A second PHI scan of the curated text finds nothing; user ids are pseudonyms.",
    ),
    dg.AssetCheckSpec(
        "drift",
        asset="curated_narratives",
        description="WARN when a month drifts from the training baseline (category mix, answer "
        "lengths, vocabulary; Jensen-Shannon divergence score above the threshold).",
    ),
]


def raw_check_results(
    lines: int, accepted: int, quarantined: int, warn_share: float, empty_months: list[str]
) -> list[dg.AssetCheckResult]:
    share = quarantined / lines if lines else 0.0
    return [
        dg.AssetCheckResult(
            check_name="has_data",
            passed=not empty_months,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"empty_months": dg.MetadataValue.json(empty_months)},
        ),
        dg.AssetCheckResult(
            check_name="lines_accounted_for",
            passed=lines == accepted + quarantined,
            metadata={"lines_read": lines, "accepted": accepted, "quarantined": quarantined},
        ),
        dg.AssetCheckResult(
            check_name="quarantine_share",
            passed=share <= warn_share,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"share": round(share, 4), "threshold": warn_share},
        ),
    ]


def curated_check_results(
    kept: Sequence[Example], residual: dict[str, int], drift: dict[str, dict] | None = None
) -> list[dg.AssetCheckResult]:
    problems = schema_problems(kept)
    drift = drift or {}
    drifted = sorted(m for m, d in drift.items() if d["score"] > d["threshold"])
    return [
        dg.AssetCheckResult(
            check_name="drift",
            passed=not drifted,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "scores": dg.MetadataValue.json({m: d["score"] for m, d in drift.items()}),
                "drifted_months": dg.MetadataValue.json(drifted),
                "baseline": "current training_dataset train split" if drift else "none yet",
            },
        ),
        dg.AssetCheckResult(
            check_name="schema",
            passed=not problems,
            metadata={"examples": len(kept), "problems": dg.MetadataValue.json(dict(problems))},
        ),
        dg.AssetCheckResult(
            check_name="no_residual_phi",
            passed=sum(residual.values()) == 0,
            metadata={"residual_findings": dg.MetadataValue.json(residual)},
        ),
    ]


def _checked_version(context: dg.AssetCheckExecutionContext) -> str:
    version = latest_version(context)
    if version is None:
        raise dg.Failure("training_dataset has never been materialized: nothing to check")
    return version


@dg.asset_check(
    asset="training_dataset",
    blocking=True,
    description="Each split holds at least the policy's minimum examples (blocks training).",
)
def min_examples_per_split(
    context: dg.AssetCheckExecutionContext, storage: Storage
) -> dg.AssetCheckResult:
    manifest = DatasetRepository(storage).manifest(_checked_version(context))
    minimum = manifest["checks"]["min_examples"]
    counts = {name: s["examples"] for name, s in manifest["splits"].items()}
    short = {n: (counts.get(n, 0), m) for n, m in minimum.items() if counts.get(n, 0) < m}
    return dg.AssetCheckResult(
        passed=not short,
        metadata={
            "version": manifest["version"],
            "counts": dg.MetadataValue.json(counts),
            "minimum": dg.MetadataValue.json(minimum),
            "short": dg.MetadataValue.json({n: f"{c} < {m}" for n, (c, m) in short.items()}),
        },
    )


@dg.asset_check(
    asset="training_dataset",
    blocking=True,
    description="No content key is in two splits, and no test key of an earlier version is in train.",
)
def split_leakage(context: dg.AssetCheckExecutionContext, storage: Storage) -> dg.AssetCheckResult:
    version = _checked_version(context)
    overlaps, previous, leaked = DatasetRepository(storage).split_leakage(version)
    return dg.AssetCheckResult(
        passed=not any(overlaps.values()) and leaked == 0,
        metadata={
            "version": version,
            "overlaps": dg.MetadataValue.json(overlaps),
            "earlier_versions_checked": previous,
            "earlier_test_keys_in_train": leaked,
        },
    )
