"""The feedback store on SQLite (the default): the shared contract, files on disk, URLs, and the
query plans that keep sensor ticks cheap. The 1,000,000-row plan test runs only with
HEALTH_TRAINING_BIG_TESTS=1."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from health_training.stores.feedback_store import FeedbackStore, normalize_url
from health_training_tests.feedback_samples import PHI_QUERY, RAW_USER, sample_record
from health_training_tests.stores.contract import StoreContract


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path):
        store = FeedbackStore(tmp_path / "db" / "feedback.db")
        yield store
        store.dispose()

    def test_raw_user_id_is_nowhere_in_the_database_files(self, store, pseudonymize, tmp_path):
        store.add(sample_record(query=PHI_QUERY, user_id=RAW_USER), pseudonymize)
        store.dispose()
        blobs = b"".join(p.read_bytes() for p in (tmp_path / "db").iterdir())
        assert RAW_USER.encode() not in blobs and b"Alice" not in blobs

    def test_readers_walk_the_primary_key(self, store, pseudonymize):
        store.add_many([sample_record(n % 5 + 1, query=f"q{n}") for n in range(50)], pseudonymize)
        _assert_sqlite_plans(store)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/fb", "postgresql+psycopg2://u:p@db:5432/fb"),
        ("postgres://u@db/fb", "postgresql+psycopg2://u@db/fb"),
        ("postgresql+psycopg://u@db/fb", "postgresql+psycopg://u@db/fb"),
        ("sqlite:///var/feedback.db", "sqlite:///var/feedback.db"),
    ],
)
def test_normalize_url(url: str, expected: str):
    assert normalize_url(url) == expected


def test_a_path_is_a_sqlite_file(tmp_path: Path):
    assert normalize_url(tmp_path / "f.db") == f"sqlite:///{tmp_path / 'f.db'}"
    assert normalize_url("var/f.db") == f"sqlite:///{Path('var/f.db').resolve()}"


def _assert_sqlite_plans(store: FeedbackStore) -> None:
    newest = store.max_id()
    for name, params in [
        ("since", {"after_id": newest - 10, "limit": 100}),
        ("count_negative_since", {"after_id": newest - 10, "threshold": 3}),
        ("corrections", {"after_id": newest - 10, "max_rating": 2}),
    ]:
        plan = store.query_plan(name, **params)
        assert plan == "SEARCH feedback USING INTEGER PRIMARY KEY (rowid>?)", (name, plan)
    # The newest rows: a backward walk of the primary key (Last, then Prev), stopped by the LIMIT;
    # no sort and no secondary index.
    plan = store.query_plan("recent_average", window=100)
    assert "SCAN feedback" in plan and "INDEX" not in plan and "TEMP B-TREE" not in plan, plan
    sql = store.statement("recent_average", window=100).compile(
        store.engine, compile_kwargs={"literal_binds": True}
    )
    with store.engine.connect() as conn:
        opcodes = [row[1] for row in conn.exec_driver_sql(f"EXPLAIN {sql}")]
    assert "Last" in opcodes and "Prev" in opcodes and "SorterOpen" not in opcodes
    assert "SEARCH feedback" in store.query_plan("max_id")


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("HEALTH_TRAINING_BIG_TESTS") != "1",
    reason="1,000,000-row plan test: set HEALTH_TRAINING_BIG_TESTS=1",
)
def test_plans_on_a_million_rows(tmp_path: Path):
    store = FeedbackStore(tmp_path / "big.db")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    columns = "created_at, model_version, rating, query, response, corrected_response, dedup_key"
    rows = [
        (now, "v1", i % 5 + 1, f"q{i}", "r", "c" if i % 7 == 0 else None, f"{i:064x}")
        for i in range(1_000_000)
    ]
    with store.engine.begin() as conn:  # one executemany in one transaction
        conn.exec_driver_sql(f"INSERT INTO feedback ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    assert store.max_id() == 1_000_000
    _assert_sqlite_plans(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # statistics must not talk the planner out of the PK
    _assert_sqlite_plans(store)
    assert store.recent_average(1000) == (3.0, 1000)
    assert store.count_negative_since(999_990) == 4
    store.dispose()
