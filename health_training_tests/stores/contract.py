"""What every feedback store backend must do: `StoreContract`, run on SQLite by
test_feedback_sqlite.py and on Postgres by test_feedback_postgres.py. Includes the command-line
entry points (stores/feedback_cli.py), which only talk to the store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from health_training.data.correction_examples import feedback_examples
from health_training.data.feedback import FeedbackError
from health_training.data.phi import Pseudonymizer
from health_training.stores.feedback_cli import add_feedback_cli, import_feedback_file
from health_training.stores.feedback_store import FeedbackStore
from health_training.stores.feedback_tables import feedback
from health_training.stores.review_queue import ReviewError, ReviewQueue
from health_training_tests.feedback_samples import (
    PHI_QUERY,
    PSEUDONYM_KEY,
    RAW_USER,
    csv_bytes,
    sample_record,
)


def _all_stored_text(store: FeedbackStore) -> str:
    with store.engine.connect() as conn:
        return repr(conn.execute(sa.select(feedback)).all())


class StoreContract:
    """Store semantics every backend must meet; subclasses provide the `store` fixture."""

    @pytest.fixture
    def pseudonymize(self) -> Pseudonymizer:
        return Pseudonymizer(PSEUDONYM_KEY)

    def test_empty_store(self, store: FeedbackStore):
        assert store.max_id() == 0 and store.since(0) == []
        assert store.recent_average(10) == (None, 0)
        assert store.count_negative_since(0) == 0 and store.corrections() == []

    def test_phi_is_scrubbed_and_raw_user_ids_never_stored(self, store, pseudonymize):
        id_ = store.add(
            sample_record(
                1, query=PHI_QUERY, user_id=RAW_USER, corrected_response="Ring 555-123-4567"
            ),
            pseudonymize,
        )
        (row,) = store.since(0)
        assert row.id == id_
        assert row.query == "My name is [NAME], call me at [PHONE]. Why is my glucose high?"
        assert row.corrected_response == "Ring [PHONE]"
        assert row.user_pseudonym == pseudonymize(RAW_USER)
        stored = _all_stored_text(store)
        for secret in (RAW_USER, "Alice", "Morgan", "555", "4567"):
            assert secret not in stored

    def test_ids_grow_and_since_reads_only_what_is_new(self, store, pseudonymize):
        first = store.add(sample_record(5, query="first"), pseudonymize)
        assert (
            store.add_many([sample_record(n, query=f"q{n}") for n in (1, 2, 3, 4)], pseudonymize)
            == 4
        )
        assert store.max_id() > first
        rows = store.since(first)
        assert [r.query for r in rows] == ["q1", "q2", "q3", "q4"]
        assert [r.id for r in rows] == sorted(r.id for r in rows) and rows[0].id > first
        assert [r.query for r in store.since(first, limit=2)] == ["q1", "q2"]
        assert store.since(store.max_id()) == []
        assert store.add(sample_record(3, query="last"), pseudonymize) > rows[-1].id

    def test_created_at_is_utc_and_filled_when_absent(self, store, pseudonymize):
        given_at = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)
        before = datetime.now(UTC)
        store.add_many(
            [sample_record(created_at=given_at), sample_record(query="later")], pseudonymize
        )
        after = datetime.now(UTC)
        stamped, filled = store.since(0)
        assert stamped.created_at == given_at
        # Stamped while add_many ran: brackets, not a bound on how long it took.
        assert filled.created_at.tzinfo is UTC and before <= filled.created_at <= after

    def test_duplicates_are_stored_once(self, store, pseudonymize):
        record = sample_record(2, user_id=RAW_USER, created_at=datetime(2025, 1, 1, tzinfo=UTC))
        first = store.add(record, pseudonymize)
        assert store.add(record, pseudonymize) == first
        assert store.add_many([record, sample_record(query="new")], pseudonymize) == 1
        assert len(store.since(0)) == 2

    def test_add_many_is_one_transaction(self, store, pseudonymize):
        store.add(sample_record(query="kept"), pseudonymize)
        # rating 9 bypasses validation; the database's check refuses it and the batch with it
        with pytest.raises(sa.exc.IntegrityError):
            store.add_many([sample_record(query="a"), sample_record(9, query="b")], pseudonymize)
        assert [r.query for r in store.since(0)] == ["kept"]

    def test_recent_average_covers_the_newest_window(self, store, pseudonymize):
        store.add_many(
            [sample_record(n, query=f"q{i}") for i, n in enumerate([1, 1, 5, 4, 3])], pseudonymize
        )
        assert store.recent_average(3) == (4.0, 3)
        assert store.recent_average(100) == (2.8, 5)
        with pytest.raises(ValueError, match="window"):
            store.recent_average(0)

    def test_count_negative_since(self, store, pseudonymize):
        ratings = [1, 2, 3, 4, 5, 1]
        store.add_many(
            [sample_record(n, query=f"q{i}") for i, n in enumerate(ratings)], pseudonymize
        )
        ids = [r.id for r in store.since(0)]
        assert store.count_negative_since(0) == 3
        assert store.count_negative_since(ids[1]) == 1
        assert store.count_negative_since(0, threshold=4) == 4
        assert store.count_negative_since(ids[-1]) == 0

    def test_corrections(self, store, pseudonymize):
        records = [
            sample_record(1, query="a", corrected_response="fix a"),
            sample_record(2, query="b"),
            sample_record(3, query="c", corrected_response="fix c"),
            sample_record(2, query="d", corrected_response="fix d"),
        ]
        store.add_many(records, pseudonymize)
        assert store.corrections() == []  # every correction waits for a reviewer
        queue = ReviewQueue(store)
        pending = queue.pending()
        assert [r.query for r in pending] == ["a", "c", "d"]
        assert [r.query for r in store.corrections(review=None)] == ["a", "d"]
        for row in pending:
            queue.decide(row.id, approve=row.query != "c", by="operator", reason="checked")
        assert queue.counts() == {"pending": 0, "approved": 2, "rejected": 1}
        with pytest.raises(ReviewError, match="was approved"):
            queue.decide(pending[0].id, approve=False, by="someone", reason="late")
        rows = store.corrections()
        assert [r.query for r in rows] == ["a", "d"]
        assert rows[0].reviewed_by == "operator" and rows[0].reviewed_at is not None
        assert [r.query for r in store.corrections(after_id=rows[0].id)] == ["d"]
        assert [r.query for r in store.corrections(max_rating=3, review=None)] == ["a", "c", "d"]
        examples = feedback_examples(rows, pseudonymize=pseudonymize)
        assert [e.output for e in examples] == ["fix a", "fix d"]

    def test_an_older_store_is_migrated_and_its_corrections_wait_for_review(self, store):
        # The table as it was before the review queue: no key, tenant or review columns.
        with store.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE feedback"))
        old = sa.MetaData()
        sa.Table(
            "feedback", old,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("user_pseudonym", sa.String(32)),
            sa.Column("model_version", sa.String(200), nullable=False),
            sa.Column("rating", sa.SmallInteger, nullable=False),
            sa.Column("query", sa.Text, nullable=False),
            sa.Column("response", sa.Text, nullable=False),
            sa.Column("corrected_response", sa.Text),
            sa.Column("context", sa.Text, nullable=False, server_default=""),
            sa.Column("dedup_key", sa.String(64), nullable=False, unique=True),
        )  # fmt: skip
        old.create_all(store.engine)
        with store.engine.begin() as conn:
            for n, corrected in ((1, "fix"), (2, None)):
                conn.execute(sa.text(
                    "INSERT INTO feedback (created_at, model_version, rating, query, response, "
                    "corrected_response, context, dedup_key) VALUES "
                    f"('2025-03-01 00:00:00+00', '3', {n}, 'q{n}', 'a', :c, '', 'k{n}')"
                ), {"c": corrected})  # fmt: skip
        store.dispose()
        migrated = FeedbackStore(store.url)
        try:
            first, second = migrated.since(0)
            assert (first.review_status, second.review_status) == ("pending", None)
            assert first.key_id is None and migrated.corrections() == []
            assert migrated.migrate() == []  # once is enough
            indexes = {i["name"] for i in sa.inspect(migrated.engine).get_indexes("feedback")}
            assert "ix_feedback_review_status" in indexes
        finally:
            migrated.dispose()

    def test_import_file_accounts_for_every_line(self, store, pseudonymize, tmp_path: Path):
        folder = tmp_path / "exports"
        folder.mkdir()
        path = folder / "feedback.csv"
        header = ["query", "response", "rating", "model_version", "user_id", "created_at"]
        path.write_bytes(
            csv_bytes(
                header,
                [PHI_QUERY, "r", "1", "v1", RAW_USER, "2025-03-01T08:00:00Z"],
                ["q2", "r", "five", "v1", RAW_USER, ""],
                ["q3", "r", "4", "v1", "", "not a date"],
                ["q4", "r", "5", "v1", "", ""],
            )
        )
        summary = import_feedback_file(store, pseudonymize, path)
        qfile = folder / "feedback.quarantine.jsonl"
        assert summary == {
            "file": str(path),
            "format": "csv",
            "lines": 4,
            "accepted": 2,
            "added": 2,
            "duplicates": 0,
            "quarantined": 2,
            "quarantine_reasons": {"bad_rating": 1, "bad_timestamp": 1},
            "quarantine_file": str(qfile),
            "phi_scrubbed": {"name": 1, "phone": 1},
        }
        lines = [orjson.loads(line) for line in qfile.read_bytes().splitlines()]
        assert [(q["line"], q["reason"]) for q in lines] == [
            (3, "bad_rating"),
            (4, "bad_timestamp"),
        ]
        assert sorted(p.name for p in folder.iterdir()) == [path.name, qfile.name]  # no temp
        assert RAW_USER not in _all_stored_text(store)
        # importing the same export again adds nothing
        assert import_feedback_file(store, pseudonymize, path)["duplicates"] == 2
        # a corrected file leaves no stale quarantine behind
        path.write_bytes(csv_bytes(header, ["q9", "r", "3", "v1", "", ""]))
        assert import_feedback_file(store, pseudonymize, path)["quarantine_file"] is None
        assert not qfile.exists() and len(store.since(0)) == 3

    def test_add_feedback_cli(self, store, pseudonymize):
        kwargs = {"query": "Why?", "response": "Because.", "model_version": "v2"}
        first = add_feedback_cli(store, pseudonymize, rating="2", user_id=RAW_USER, **kwargs)
        # the same rating typed twice is two ratings
        second = add_feedback_cli(store, pseudonymize, rating=2, user_id=RAW_USER, **kwargs)
        assert second > first and store.count_negative_since(0) == 2
        with pytest.raises(FeedbackError, match="outside 1-5") as err:
            add_feedback_cli(store, pseudonymize, rating=7, user_id=RAW_USER, **kwargs)
        assert err.value.reason == "bad_rating"
        assert RAW_USER not in _all_stored_text(store)
