"""Build the versioned training dataset from curated months: flat rows, stable splits, Parquet.

`build_training_dataset` takes the curated examples of each month and returns Parquet bytes per
split plus a manifest; the caller stores them. Splits load with
`datasets.load_dataset("parquet", data_files={"train": ".../train.parquet", ...})`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Any

import orjson

from health_training.data.config import SplitPolicy
from health_training.data.domains import canonical_domain
from health_training.data.records import Example
from health_training.data.splits import assign_splits, build_manifest

# Column order of every split file; `metadata_json` keeps the rest of the ETL metadata.
COLUMNS: tuple[str, ...] = (
    "content_key",
    "instruction",
    "input",
    "output",
    "category",
    "record_type",
    "quality_score",
    "complexity_level",
    "clinical_relevance",
    "month",
    "day",
    "source_format",
    "user_id",
    # Question examples (etl/questions): their kind and template family; null for narratives.
    "example_kind",
    "question_kind",
    "template_family",
    "metadata_json",
)


def to_row(example: Example) -> dict[str, Any]:
    meta = example.metadata
    category = meta.get("training_category") or meta.get("domain") or "general_health"
    stamp = meta.get("processing_timestamp")
    quality = meta.get("quality_score")
    return {
        "content_key": meta["content_key"],
        "instruction": example.instruction,
        "input": example.input,
        "output": example.output,
        "category": canonical_domain(str(category)),
        "record_type": meta.get("record_type") or meta.get("source_format", "external"),
        "quality_score": float(quality) if quality is not None else None,
        "complexity_level": meta.get("complexity_level"),
        "clinical_relevance": meta.get("clinical_relevance"),
        "month": meta.get("month"),
        "day": stamp[:10] if isinstance(stamp, str) else None,
        "source_format": meta.get("source_format"),
        "user_id": meta.get("user_id"),
        "example_kind": meta.get("example_kind"),
        "question_kind": meta.get("question_kind"),
        "template_family": meta.get("template_family"),
        "metadata_json": orjson.dumps(dict(meta), option=orjson.OPT_SORT_KEYS).decode(),
    }


def parquet_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [(c, pa.float64() if c == "quality_score" else pa.string()) for c in COLUMNS]
    )
    table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in rows], schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def read_parquet_rows(data: bytes, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data), columns=list(columns) if columns else None).to_pylist()


@dataclass(frozen=True, slots=True)
class TrainingDataset:
    version: str
    files: dict[str, bytes]  # split name -> Parquet bytes
    rows: dict[str, tuple[dict[str, Any], ...]]
    manifest: dict[str, Any]


def select_months(months: Sequence[str], last_n: int | None) -> list[str]:
    ordered = sorted(months)
    return ordered[-last_n:] if last_n else ordered


def build_training_dataset(
    curated: Mapping[str, Sequence[Example]],
    policy: SplitPolicy,
    *,
    frozen_test_keys: Set[str] = frozenset(),
    train_only: Sequence[Example] = (),
) -> TrainingDataset:
    """Split the curated months (already chosen by the caller) into versioned Parquet files.

    `train_only` examples (corrections from user feedback) join the train split only, and only
    when their content is in no other split: they can never leak into validation or test.
    """
    months = sorted(curated)
    rows = [to_row(ex) for m in months for ex in curated[m]]
    result = assign_splits(
        rows,
        policy.ratios,
        salt=policy.salt,
        frozen_test_keys=frozen_test_keys,
        balance=dict(policy.balance) if policy.balance else None,
        freeform_families=frozenset(policy.freeform_test_families),
    )
    if train_only:
        taken = {r["content_key"] for split in result.splits.values() for r in split}
        taken |= set(frozen_test_keys)
        extra = []
        for ex in train_only:
            row = to_row(ex)
            if row["content_key"] not in taken:
                taken.add(row["content_key"])
                extra.append(row)
        train = sorted([*result.splits["train"], *extra], key=lambda r: r["content_key"])
        result = replace(result, splits={**result.splits, "train": tuple(train)})
    digest = hashlib.sha256()
    for name in sorted(result.splits):
        digest.update(name.encode())
        for row in result.splits[name]:
            digest.update(row["content_key"].encode())
    version = digest.hexdigest()[:12]
    manifest = build_manifest(result, version=version, months=months)
    manifest["split_policy"] = {
        "ratios": dict(policy.ratios),
        "salt": policy.salt,
        "balance": dict(policy.balance) if policy.balance else None,
        "freeform_test_families": list(policy.freeform_test_families),
    }
    files = {name: parquet_bytes(r) for name, r in result.splits.items()}
    return TrainingDataset(version, files, result.splits, manifest)
