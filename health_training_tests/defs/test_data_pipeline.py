"""The data group materialized for real, in process: generated months → raw → curated → splits.

Checks the accounting end to end, the PHI guarantee against the injected ground truth, dedup
across months, split stability when a month is added, and the blocking checks.
"""

from __future__ import annotations

import re

import dagster as dg
import orjson
import pytest

from health_training.data import layout
from health_training.data.dataset import read_parquet_rows
from health_training.data.dataset_repository import DatasetRepository
from health_training.defs.data import checks
from health_training.defs.data.datasets import openai_chat_dataset, training_dataset
from health_training.defs.data.narratives import curated_narratives, raw_narratives
from health_training.etl.generator import generate_corpus
from health_training.resources import LocalStorage, PhiResource

pytestmark = pytest.mark.slow

MONTHLY = [raw_narratives, curated_narratives]
DATASET = [
    training_dataset,
    openai_chat_dataset,
    checks.min_examples_per_split,
    checks.split_leakage,
]


def _range(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def _resources(storage):
    return {"storage": storage, "phi": PhiResource(pseudonym_key="t" * 32)}


def _write(storage, months, users=8, seed=11):
    corpus = generate_corpus(months, users, seed, phi_note_share=0.05, malformed_share=0.01)
    for key, data in corpus.files.items():
        storage.write_bytes(key, data)
    return corpus


def _metadata(result, asset: str) -> dict:
    """Per-partition metadata added up over the months of the run (counts and count maps)."""
    total: dict = {}
    for mat in result.asset_materializations_for_node(asset):
        for k, v in mat.metadata.items():
            value = v.value
            if isinstance(value, bool) or not isinstance(value, int | dict):
                total.setdefault(k, value)
            elif isinstance(value, dict):
                bucket = total.setdefault(k, {})
                for kk, n in value.items():
                    bucket[kk] = bucket.get(kk, 0) + n
            else:
                total[k] = total.get(k, 0) + value
    return total


def _checks(result) -> dict[str, bool]:
    return {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(root=str(tmp_path / "lake"))


def _dataset_rows(storage, split):
    version = DatasetRepository(storage).versions()[-1]
    return read_parquet_rows(storage.read_bytes(layout.dataset_split(version, split)))


def test_two_months_end_to_end(storage):
    corpus = _write(storage, [(2025, 1), (2025, 2)])
    instance = dg.DagsterInstance.ephemeral()
    monthly = dg.materialize(
        MONTHLY,
        resources=_resources(storage),
        instance=instance,
        tags=_range("2025-01", "2025-02"),
    )
    assert monthly.success
    raw = _metadata(monthly, "raw_narratives")
    lines = sum(len([ln for ln in d.splitlines() if ln.strip()]) for d in corpus.files.values())
    assert raw["lines_read"] == lines
    assert raw["accepted"] + raw["quarantined"] == raw["lines_read"]
    assert raw["quarantined"] >= corpus.malformed > 0
    assert _checks(monthly) == {
        "has_data": True,
        "lines_accounted_for": True,
        "quarantine_share": True,
        "drift": True,  # no training dataset yet: nothing to drift from
        "schema": True,
        "no_residual_phi": True,
    }
    # quarantine files sit beside their sources, one JSON line per bad record, with line numbers
    qfiles = [k for k in storage.list_keys("training/") if k.endswith(".quarantine.jsonl")]
    quarantined = [
        orjson.loads(line) for k in qfiles for line in storage.read_bytes(k).splitlines()
    ]
    assert len(quarantined) == raw["quarantined"]
    assert all(q["line"] >= 1 and q["reason"] and q["source"] in corpus.files for q in quarantined)

    curated = _metadata(monthly, "curated_narratives")
    assert curated["kept"] + sum(curated["dropped_by_reason"].values()) == curated["examples_in"]
    assert curated["residual_phi"] == {}
    assert sum(curated["phi_scrubbed_by_type"].values()) > 0

    dataset = dg.materialize(
        DATASET,
        resources=_resources(storage),
        instance=instance,
        run_config={"ops": {"training_dataset": {"config": {}}}},
    )
    assert dataset.success
    assert _checks(dataset)["split_leakage"] is True
    assert corpus.phi_values
    splits = ("train", "validation", "test", "freeform_test")  # freeform_test: held-out questions
    rows = [r for s in splits for r in _dataset_rows(storage, s)]
    # Every text a person or a model could read; hashes are left out (hex digits match ZIPs).
    texts = []
    for r in rows:
        meta = orjson.loads(r["metadata_json"])
        meta.pop("content_key", None), meta.pop("content_hash", None)
        texts += [
            r["instruction"],
            r["input"],
            r["output"],
            r["user_id"],
            orjson.dumps(meta).decode(),
        ]
    version = DatasetRepository(storage).versions()[-1]
    texts += [storage.read_bytes(layout.openai_split(version, "train")).decode()]
    blob = "\n".join(texts)
    leaked = [v for v in corpus.phi_values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", blob)]
    assert not leaked, f"PHI reached the dataset: {leaked[:3]}"
    assert len(rows) == curated["kept"]
    assert all(r["user_id"].startswith("u_") for r in rows)


def test_adding_a_month_keeps_splits_and_dedups_across_months(storage):
    _write(storage, [(2025, 1)])
    instance = dg.DagsterInstance.ephemeral()
    res = _resources(storage)
    assert dg.materialize(
        MONTHLY, resources=res, instance=instance, partition_key="2025-01"
    ).success
    assert dg.materialize(DATASET, resources=res, instance=instance).success
    before = {
        r["content_key"]: s
        for s in ("train", "validation", "test")
        for r in _dataset_rows(storage, s)
    }

    # February repeats some of January's examples verbatim: they must count once.
    jan = [
        k
        for k in storage.list_keys("training/")
        if "/2025/01/" in k and k.endswith(".jsonl") and not k.endswith(".quarantine.jsonl")
    ]
    _write(storage, [(2025, 2)], seed=12)
    feb_key = jan[0].replace("/2025/01/", "/2025/02/").replace("2025_01", "2025_02")
    repeated = storage.read_bytes(jan[0]).splitlines()[:20]
    storage.write_bytes(
        feb_key, (storage.read_optional(feb_key) or b"") + b"\n".join(repeated) + b"\n"
    )
    feb = dg.materialize(MONTHLY, resources=res, instance=instance, partition_key="2025-02")
    assert feb.success
    dropped = _metadata(feb, "curated_narratives")["dropped_by_reason"]
    assert dropped.get("duplicate_other_month", 0) > 0

    # Re-materializing January does not count itself as a duplicate.
    again = dg.materialize(MONTHLY, resources=res, instance=instance, partition_key="2025-01")
    assert (
        "duplicate_other_month" not in _metadata(again, "curated_narratives")["dropped_by_reason"]
    )

    assert dg.materialize(DATASET, resources=res, instance=instance).success
    after = {
        r["content_key"]: s
        for s in ("train", "validation", "test")
        for r in _dataset_rows(storage, s)
    }
    assert len(after) > len(before)
    assert all(after[k] == s for k, s in before.items() if k in after)


def test_residual_phi_blocks_the_run(storage):
    _write(storage, [(2025, 3)])
    run_config = {"ops": {"curated_narratives": {"config": {"config_path": None}}}}
    # A policy with the scrub switched off must be stopped by the blocking check.
    import yaml

    from health_training.data.config import DEFAULT_CONFIG

    policy = yaml.safe_load(DEFAULT_CONFIG.read_text())
    policy["phi"]["scrub"] = False
    path = storage.uri("policy.yaml")
    storage.write_bytes("policy.yaml", yaml.safe_dump(policy).encode())
    run_config = {"ops": {"curated_narratives": {"config": {"config_path": path}}}}
    result = dg.materialize(
        MONTHLY + [training_dataset],
        resources=_resources(storage),
        partition_key="2025-03",
        run_config=run_config,
        raise_on_error=False,
    )
    assert not result.success
    assert _checks(result)["no_residual_phi"] is False


def test_too_few_examples_block_before_training(storage):
    _write(storage, [(2025, 4)], users=1)
    res = _resources(storage)
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(
        MONTHLY, resources=res, instance=instance, partition_key="2025-04"
    ).success
    import yaml

    from health_training.data.config import DEFAULT_CONFIG

    policy = yaml.safe_load(DEFAULT_CONFIG.read_text())
    policy["checks"]["min_examples"] = {"train": 10_000, "validation": 1, "test": 1}
    storage.write_bytes("policy.yaml", yaml.safe_dump(policy).encode())
    run_config = {
        "ops": {"training_dataset": {"config": {"config_path": storage.uri("policy.yaml")}}}
    }
    result = dg.materialize(
        DATASET, resources=res, instance=instance, run_config=run_config, raise_on_error=False
    )
    assert _checks(result)["min_examples_per_split"] is False
    assert not result.success
    assert not list(result.asset_materializations_for_node("openai_chat_dataset"))


def test_one_month_on_s3(s3_storage):
    """The same graph against a real S3 endpoint (moto's HTTP server)."""
    _write(s3_storage, [(2025, 5)], users=3)
    res = _resources(s3_storage)
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(
        MONTHLY, resources=res, instance=instance, partition_key="2025-05"
    ).success
    result = dg.materialize(
        [training_dataset, openai_chat_dataset], resources=res, instance=instance
    )
    assert result.success
    version = DatasetRepository(s3_storage).versions()[-1]
    assert s3_storage.exists(layout.dataset_split(version, "train"))
    assert s3_storage.exists(layout.openai_split(version, "train"))
    assert any(k.endswith(".quarantine.jsonl") for k in s3_storage.list_keys("training/"))


def test_a_month_is_compared_with_the_training_baseline(storage):
    """After a dataset exists, a new month is scored for drift; a shifted month warns."""
    _write(storage, [(2025, 6)])
    res = _resources(storage)
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(
        MONTHLY, resources=res, instance=instance, partition_key="2025-06"
    ).success
    assert dg.materialize(DATASET, resources=res, instance=instance).success
    _write(storage, [(2025, 7)], seed=21)
    similar = dg.materialize(MONTHLY, resources=res, instance=instance, partition_key="2025-07")
    meta = _metadata(similar, "curated_narratives")
    assert meta["drift_score"] < 0.15 and _checks(similar)["drift"] is True
    # August holds only sleep data: the category mix moves far from the baseline.
    corpus = generate_corpus([(2025, 8)], 8, 13, phi_note_share=0.0, malformed_share=0.0)
    for key, data in corpus.files.items():
        if "/sleep_recovery/" in key:
            storage.write_bytes(key, data)
    shifted = dg.materialize(MONTHLY, resources=res, instance=instance, partition_key="2025-08")
    assert shifted.success  # WARN: the run goes on
    assert _checks(shifted)["drift"] is False
    assert _metadata(shifted, "curated_narratives")["drift_score"] > 0.15


def test_a_dataset_refuses_months_pseudonymized_under_another_key(storage):
    _write(storage, [(2025, 1)], users=3)
    instance = dg.DagsterInstance.ephemeral()
    assert dg.materialize(
        MONTHLY, resources=_resources(storage), instance=instance, partition_key="2025-01"
    ).success
    other_key = {"storage": storage, "phi": PhiResource(pseudonym_key="o" * 32)}
    result = dg.materialize(
        [training_dataset], resources=other_key, instance=instance, raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "2025-01" in message and "another key" in message and "re-materialize" in message
    # With the key the month was made with, the dataset builds.
    assert dg.materialize(
        [training_dataset], resources=_resources(storage), instance=instance
    ).success


def test_an_empty_month_is_a_clear_outcome_not_a_silent_success(storage):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        MONTHLY, resources=_resources(storage), instance=instance, partition_key="2025-09"
    )
    assert result.success  # nothing failed: there was nothing to read
    raw = _metadata(result, "raw_narratives")
    assert raw["accepted"] == 0 and raw["empty_reason"].startswith("no input files for 2025-09")
    assert _checks(result)["has_data"] is False  # a WARN check fails in the UI
    curated = _metadata(result, "curated_narratives")
    assert curated["kept"] == 0 and "drift_score" not in curated
