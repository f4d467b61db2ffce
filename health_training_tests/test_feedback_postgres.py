"""The feedback store on a real Postgres: a throwaway cluster (initdb + pg_ctl) on 127.0.0.1.

Needs the server binaries (Debian: `apt-get install -y postgresql`, which puts them in
/usr/lib/postgresql/*/bin) and psycopg2 (`pip install psycopg2-binary`); skipped without them.
Run as root, the cluster runs as the `postgres` (or `nobody`) user, since Postgres refuses root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from health_training.data.phi import Pseudonymizer
from health_training.feedback_store import FeedbackStore
from health_training_tests.test_feedback import StoreContract, _record

pytest.importorskip("psycopg2", reason="Postgres driver missing: pip install psycopg2-binary")


def _server_bin() -> Path | None:
    for candidate in [
        shutil.which("initdb"),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[::-1],
    ]:
        if candidate and Path(candidate).resolve().with_name("pg_ctl").exists():
            return Path(candidate).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running cluster; yields an admin URL (trust auth, user `feedback`)."""
    bin_dir = _server_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
            "/usr/lib/postgresql/*/bin: install them with `apt-get install -y postgresql`"
        )
    run_as: dict = {}
    if os.geteuid() == 0:  # initdb refuses root; pytest's tmp_path is not readable by others
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        if user is None:
            pytest.skip("running as root and no 'postgres' or 'nobody' user to run Postgres as")
        entry = pwd.getpwnam(user)
        root = Path(tempfile.mkdtemp(prefix="feedback-pg-"))
        os.chown(root, entry.pw_uid, entry.pw_gid)
        run_as = {"user": entry.pw_uid, "group": entry.pw_gid, "cwd": root}
    else:
        root = tmp_path_factory.mktemp("feedback-pg")
    data, port = root / "data", _free_port()

    def pg(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=120, **run_as)

    pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "feedback", "-A", "trust", "--no-sync")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    try:
        pg(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
    except subprocess.CalledProcessError:
        pytest.fail(f"pg_ctl start failed:\n{(root / 'log').read_text(errors='replace')}")
    try:
        yield f"postgresql://feedback@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            **run_as,
        )
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def fresh_database(postgres: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database per test; a plain postgresql:// URL, as users write it."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    url = postgres.replace("postgresql://", "postgresql+psycopg2://")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield postgres.rsplit("/", 1)[0] + "/" + name
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
    store = FeedbackStore(fresh_database.replace("feedback@", "feedback:secret@"))
    assert "secret" not in repr(store) and "***" in repr(store)
    store.dispose()


def test_readers_use_the_primary_key_on_a_large_table(fresh_database: str):
    store = FeedbackStore(fresh_database)
    with store.engine.begin() as conn:  # 200,000 rows server-side: well under a second
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


def test_writers_queue_so_ids_commit_in_order(fresh_database: str):
    """A sensor that has read past id N must never see a row with id <= N appear later: a second
    writer waits for the first to commit instead of committing a higher id before it."""
    store = FeedbackStore(fresh_database)
    pseudonymize = Pseudonymizer(b"feedback-test-key-0123456789")
    with store.engine.connect() as first:
        transaction = first.begin()
        store._lock(first)
        low = first.exec_driver_sql(
            "INSERT INTO feedback (created_at, model_version, rating, query, response, dedup_key)"
            " VALUES (now(), 'v1', 3, 'slow writer', 'r', 'k1') RETURNING id"
        ).scalar_one()
        ids: list[int] = []
        second = threading.Thread(target=lambda: ids.append(store.add(_record(), pseudonymize)))
        second.start()
        time.sleep(0.5)
        assert second.is_alive() and ids == []  # queued behind the first writer
        assert store.since(0) == []  # readers do not wait, and see nothing uncommitted
        transaction.commit()
    second.join(timeout=30)
    assert ids and ids[0] > low
    assert [r.id for r in store.since(0)] == [low, ids[0]]
    store.dispose()
