"""The feedback store on a real Postgres: the shared contract, the query plans on a large table,
and writers that queue so ids commit in order.

Uses the session's throwaway cluster (`postgres_cluster`, health_training_tests/postgres.py),
skipped without Debian's server binaries, and psycopg2 (`pip install psycopg2-binary`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from health_training.data.phi import Pseudonymizer
from health_training.stores.feedback_store import FeedbackStore
from health_training_tests.events import DEADLINE, wait_until
from health_training_tests.feedback_samples import PSEUDONYM_KEY, sample_record
from health_training_tests.postgres import PostgresCluster
from health_training_tests.stores.contract import StoreContract

pytest.importorskip("psycopg2", reason="Postgres driver missing: pip install psycopg2-binary")


@pytest.fixture
def fresh_database(
    postgres_cluster: PostgresCluster, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A new, empty database per test; a plain postgresql:// URL, as users write it."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    admin_url = postgres_cluster.url().replace("postgresql://", "postgresql+psycopg2://")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield postgres_cluster.url(name)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, fresh_database: str) -> Iterator[FeedbackStore]:
        store = FeedbackStore(fresh_database)
        assert store.engine.url.drivername == "postgresql+psycopg2"
        yield store
        store.dispose()


def test_repr_hides_the_password(fresh_database: str):
    with_password = fresh_database.replace(
        "postgresql://postgres@", "postgresql://postgres:secret@"
    )
    assert "secret" in with_password
    store = FeedbackStore(with_password)
    assert "secret" not in repr(store) and "***" in repr(store)
    store.dispose()


def test_readers_use_the_primary_key_on_a_large_table(fresh_database: str):
    store = FeedbackStore(fresh_database)
    with store.engine.begin() as conn:  # 200,000 rows generated server-side
        conn.exec_driver_sql(
            "INSERT INTO feedback (created_at, model_version, rating, query, response,"
            " corrected_response, dedup_key)"
            " SELECT now(), 'v1', mod(i, 5) + 1, 'q' || i, 'r',"
            " CASE WHEN mod(i, 7) = 0 THEN 'c' END, md5(i::text) FROM generate_series(0, 199999) i"
        )
        conn.exec_driver_sql("ANALYZE feedback")
    newest = store.max_id()
    assert "Index Only Scan Backward using feedback_pkey" in store.query_plan("max_id")
    for name, params in [
        ("since", {"after_id": newest - 100, "limit": 500}),
        ("count_negative_since", {"after_id": newest - 100, "threshold": 3}),
        ("corrections", {"after_id": newest - 100, "max_rating": 2}),
    ]:
        plan = store.query_plan(name, **params)
        assert "using feedback_pkey" in plan and "Seq Scan" not in plan, (name, plan)
    plan = store.query_plan("recent_average", window=1000)
    assert "Index Scan Backward using feedback_pkey" in plan and "Sort" not in plan, plan
    assert store.recent_average(1000) == (3.0, 1000)
    store.dispose()


def _writers_waiting_for_the_table_lock(store: FeedbackStore) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname = 'feedback' AND NOT l.granted"
        ).scalar_one()


def test_writers_queue_so_ids_commit_in_order(fresh_database: str):
    """A sensor that has read past id N must never see a row with id <= N appear later: a second
    writer waits for the first to commit instead of committing a higher id before it."""
    store = FeedbackStore(fresh_database)
    pseudonymize = Pseudonymizer(PSEUDONYM_KEY)
    with store.engine.connect() as first:
        transaction = first.begin()
        store._lock(first)
        low = first.exec_driver_sql(
            "INSERT INTO feedback (created_at, model_version, rating, query, response, dedup_key)"
            " VALUES (now(), 'v1', 3, 'slow writer', 'r', 'k1') RETURNING id"
        ).scalar_one()
        ids: list[int] = []
        second = threading.Thread(
            target=lambda: ids.append(store.add(sample_record(), pseudonymize))
        )
        second.start()
        # The event, seen by the server itself: the second writer asks for the lock and waits.
        wait_until(
            lambda: _writers_waiting_for_the_table_lock(store) or not second.is_alive(),
            "the second writer to wait for the table lock",
        )
        assert second.is_alive() and ids == []  # queued behind the first writer
        assert store.since(0) == []  # readers do not wait, and see nothing uncommitted
        transaction.commit()
    second.join(timeout=DEADLINE)
    assert ids and ids[0] > low
    assert [r.id for r in store.since(0)] == [low, ids[0]]
    store.dispose()
