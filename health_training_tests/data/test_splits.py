"""Split stability: adding a month never moves an example; earlier test keys stay in test."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from health_training.data.config import SplitPolicy
from health_training.data.dataset import build_training_dataset, read_parquet_rows
from health_training.data.records import Example
from health_training.data.splits import assign_splits, split_for

RATIOS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))


def _key(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _rows(ids, category="metabolic_diabetes"):
    return [{"content_key": _key(i), "category": category} for i in ids]


def _month(month: str, ids) -> list[Example]:
    return [
        Example(
            f"q{i}",
            "",
            f"a{i}",
            {
                "content_key": _key(i),
                "training_category": "sleep_recovery",
                "month": month,
                "quality_score": 0.8,
                "processing_timestamp": f"{month}-02T02:00:00Z",
            },
        )
        for i in ids
    ]


def test_split_for_is_deterministic_and_close_to_ratios():
    names = Counter(split_for(_key(i), RATIOS) for i in range(20_000))
    assert names["train"] / 20_000 == pytest.approx(0.8, abs=0.01)
    assert names["test"] / 20_000 == pytest.approx(0.1, abs=0.01)
    assert all(split_for(_key(i), RATIOS) == split_for(_key(i), RATIOS) for i in range(100))


def test_adding_a_month_moves_nothing():
    before = build_training_dataset({"2025-01": _month("2025-01", range(0, 500))}, SplitPolicy())
    after = build_training_dataset(
        {
            "2025-01": _month("2025-01", range(0, 500)),
            "2025-02": _month("2025-02", range(500, 900)),
        },
        SplitPolicy(),
    )
    where_before = {r["content_key"]: s for s, rows in before.rows.items() for r in rows}
    where_after = {r["content_key"]: s for s, rows in after.rows.items() for r in rows}
    assert all(where_after[k] == s for k, s in where_before.items())
    # backfilling an older month in any order gives the same dataset
    backfilled = build_training_dataset(
        {
            "2025-02": _month("2025-02", range(500, 900)),
            "2025-01": _month("2025-01", range(0, 500)),
        },
        SplitPolicy(),
    )
    assert backfilled.version == after.version
    assert backfilled.manifest["splits"] == after.manifest["splits"]


def test_earlier_test_keys_stay_in_test_when_ratios_change():
    first = assign_splits(_rows(range(2000)), RATIOS)
    test_keys = {r["content_key"] for r in first.splits["test"]}
    wider = (("train", 0.95), ("validation", 0.025), ("test", 0.025))
    unpinned = assign_splits(_rows(range(2000)), wider)
    assert test_keys & {r["content_key"] for r in unpinned.splits["train"]}  # the danger is real
    pinned = assign_splits(_rows(range(2000)), wider, frozen_test_keys=test_keys)
    assert not test_keys & {r["content_key"] for r in pinned.splits["train"]}
    assert pinned.pinned_to_test > 0


def test_balancing_downsamples_train_only_and_stably():
    rows = _rows(range(0, 3000), "metabolic_diabetes") + _rows(range(3000, 3500), "sleep_recovery")
    result = assign_splits(rows, RATIOS, balance={"metabolic_diabetes": 0.5, "sleep_recovery": 0.5})
    train = Counter(r["category"] for r in result.splits["train"])
    assert abs(train["metabolic_diabetes"] - train["sleep_recovery"]) <= 1
    assert result.balanced_out["metabolic_diabetes"] > 0
    test = Counter(r["category"] for r in result.splits["test"])
    assert test["metabolic_diabetes"] > 3 * test["sleep_recovery"]  # natural mix kept


def test_duplicates_across_months_count_once():
    result = assign_splits(_rows([1, 2, 3]) + _rows([2, 3, 4]), RATIOS)
    assert sum(len(v) for v in result.splits.values()) == 4
    assert result.duplicates_dropped == 2


def test_parquet_loads_with_hugging_face_datasets(tmp_path):
    from datasets import load_dataset

    dataset = build_training_dataset({"2025-01": _month("2025-01", range(300))}, SplitPolicy())
    files = {}
    for name, data in dataset.files.items():
        (tmp_path / f"{name}.parquet").write_bytes(data)
        files[name] = str(tmp_path / f"{name}.parquet")
    loaded = load_dataset("parquet", data_files=files)
    assert {n: len(loaded[n]) for n in loaded} == {
        n: s["examples"] for n, s in dataset.manifest["splits"].items()
    }
    assert loaded["train"][0]["category"] == "sleep_recovery"
    assert read_parquet_rows(dataset.files["test"], ["content_key"])


def test_manifest_has_counts_range_quality_and_digests():
    dataset = build_training_dataset({"2025-03": _month("2025-03", range(200))}, SplitPolicy())
    m = dataset.manifest
    assert m["examples"] == 200
    assert m["date_range"] == ["2025-03-02", "2025-03-02"]
    assert set(m["splits"]) == {"train", "validation", "test"}
    for split in m["splits"].values():
        assert split["mean_quality"] == pytest.approx(0.8)
        assert len(split["sha256"]) == 64
        assert sum(split["by_category"].values()) == split["examples"]


def test_bad_ratios_are_refused():
    with pytest.raises(ValueError, match="add up to 1.0"):
        SplitPolicy(ratios=(("train", 0.8), ("test", 0.3)))


def test_feedback_corrections_join_train_only_and_never_leak():
    months = {"2025-01": _month("2025-01", range(300))}
    plain = build_training_dataset(months, SplitPolicy())
    test_example = next(
        ex
        for ex in months["2025-01"]
        if ex.metadata["content_key"] in {r["content_key"] for r in plain.rows["test"]}
    )
    correction = Example(
        "Was my sleep ok?",
        "",
        "You slept 7 h 10 min, within the 7-9 h goal.",
        {
            "content_key": _key(10_000),
            "training_category": "sleep_recovery",
            "source_format": "feedback",
        },
    )
    with_feedback = build_training_dataset(
        months, SplitPolicy(), train_only=[correction, test_example]
    )
    train_keys = {r["content_key"] for r in with_feedback.rows["train"]}
    assert _key(10_000) in train_keys
    assert test_example.metadata["content_key"] not in train_keys  # a test example stays out
    assert with_feedback.rows["test"] == plain.rows["test"]
    assert len(with_feedback.rows["train"]) == len(plain.rows["train"]) + 1
