"""Asset checks of the data plane.

Monthly assets emit their checks from the asset body (the numbers are computed there, and
partitioned checks are still preview in Dagster 1.13); the dataset checks are standalone and
check the version training_dataset's latest materialization recorded, so they can be re-run from
the UI on their own.
"""

from collections import Counter
from collections.abc import Sequence

import dagster as dg

from health_training.data.dataset_repository import DatasetRepository
from health_training.data.records import ETL_REQUIRED_FIELDS, Example
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


def schema_problems(examples: Sequence[Example]) -> Counter[str]:
    """Problems by kind; ETL examples must carry the data contract's required metadata."""
    problems: Counter[str] = Counter()
    for ex in examples:
        if not ex.instruction.strip() or not ex.output.strip():
            problems["empty_text"] += 1
        meta = ex.metadata
        if not isinstance(meta.get("content_key"), str) or len(meta["content_key"]) != 64:
            problems["content_key"] += 1
        if meta.get("source_format") == "etl":
            missing = [f for f in ETL_REQUIRED_FIELDS if f not in meta]
            if missing:
                problems["missing_metadata"] += 1
            q = meta.get("quality_score")
            if not isinstance(q, int | float) or not 0 <= q <= 1:
                problems["quality_score"] += 1
    return problems


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
    repo = DatasetRepository(storage)
    version = _checked_version(context)
    manifest = repo.manifest(version)
    keys = {
        name: {r["content_key"] for r in repo.split_rows(version, name, ["content_key"])}
        for name in manifest["splits"]
    }
    names = sorted(keys)
    overlaps = {
        f"{a}&{b}": len(keys[a] & keys[b]) for i, a in enumerate(names) for b in names[i + 1 :]
    }
    previous = [v for v in repo.versions() if v != version]
    leaked = len(repo.test_keys_of_versions(previous) & keys.get("train", set()))
    return dg.AssetCheckResult(
        passed=not any(overlaps.values()) and leaked == 0,
        metadata={
            "version": version,
            "overlaps": dg.MetadataValue.json(overlaps),
            "earlier_versions_checked": len(previous),
            "earlier_test_keys_in_train": leaked,
        },
    )
