"""The feedback store: ratings of model answers in SQLite (a file, the default) or Postgres.

`FeedbackStore(url)` takes a SQLAlchemy URL (`sqlite:///var/feedback/feedback.db`,
`postgresql+psycopg2://user:pw@host/db`; a plain `postgresql://` is read as psycopg2, since
SQLAlchemy 2.1 maps it to psycopg 3) or a file path, and creates its table if missing. Every
write goes through `prepare_for_storage`: free text is PHI-scrubbed and user ids become
pseudonyms before a row is built, so neither reaches the database. Ids only grow, and readers
that sensors call (`since`, `max_id`, `recent_average`, `count_negative_since`) walk the primary
key, so a tick costs what is new, not the whole history. The command line's entry points are in
`feedback_cli.py`; the review queue of corrections and the raters' trust levels in
`review_queue.py`. Opening a store made before those existed adds their columns and table
(`migrate`); its old corrections wait in the queue as pending, since nobody reviewed them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from health_training.data.feedback import (
    APPROVED,
    PENDING,
    FeedbackRecord,
    Pseudonymize,
    StoredFeedback,
    dedup_key,
    prepare_for_storage,
)
from health_training.stores.feedback_tables import (
    MIGRATED_COLUMNS,
    STORED_COLUMNS,
    feedback,
    metadata,
)


def normalize_url(url: str | Path) -> str:
    """A SQLAlchemy URL: a path becomes a SQLite file; `postgresql://` and `postgres://` use
    psycopg2 (SQLAlchemy 2.1 would pick psycopg 3, which we do not install)."""
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    for scheme in ("postgresql://", "postgres://"):
        if text.startswith(scheme):
            return "postgresql+psycopg2://" + text[len(scheme) :]
    return text


def default_url(home: Path) -> str:
    """The SQLite file under HEALTH_TRAINING_HOME."""
    return f"sqlite:///{home / 'feedback' / 'feedback.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: sensors read while the CLI writes; busy_timeout: a second writer waits, not fails.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class FeedbackStore:
    """Feedback rows in one table; see the module docstring."""

    def __init__(self, url: str | Path) -> None:
        self.url = sa.make_url(normalize_url(url))
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"{self}: the database driver is missing ({exc.name}); for Postgres run "
                "`pip install psycopg2-binary` and use postgresql+psycopg2://..."
            ) from exc
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self.migrate()

    def migrate(self) -> list[str]:
        """Add the columns a store made by an older version lacks; the ones added. Corrections
        already stored become pending: nobody reviewed them."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("feedback")}
        missing = [name for name in MIGRATED_COLUMNS if name not in present]
        if not missing:
            return []
        index = next(iter(feedback.indexes))
        with self.engine.begin() as conn:
            for name in missing:
                column = feedback.c[name]
                kind = column.type.compile(dialect=self.engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE feedback ADD COLUMN {name} {kind}")
            if "review_status" in missing:
                conn.execute(
                    feedback.update()
                    .where(feedback.c.corrected_response.is_not(None))
                    .values(review_status=PENDING)
                )
            index.create(conn, checkfirst=True)
        return missing

    def __repr__(self) -> str:
        return f"FeedbackStore({self.url.render_as_string(hide_password=True)!r})"

    def dispose(self) -> None:
        self.engine.dispose()

    # --- writes ---------------------------------------------------------------------------

    def add(self, record: FeedbackRecord, pseudonymize: Pseudonymize) -> int:
        """Store one record; its id (the existing row's id when it is a duplicate)."""
        clean, _ = prepare_for_storage(record, pseudonymize)
        row = self._row(clean, datetime.now(UTC))
        with self.engine.begin() as conn:
            self._lock(conn)
            added = conn.execute(self._insert().returning(feedback.c.id), row).scalar()
            if added is not None:
                return added
            existing = sa.select(feedback.c.id).where(feedback.c.dedup_key == row["dedup_key"])
            return conn.execute(existing).scalar_one()

    def add_many(
        self,
        records: Iterable[FeedbackRecord],
        pseudonymize: Pseudonymize,
        *,
        phi_counts: Counter[str] | None = None,
    ) -> int:
        """Store records in one transaction; how many were new (duplicates are skipped).
        `phi_counts`, when given, is increased by what the scrub replaced, per kind."""
        prepared = []
        for record in records:
            clean, counts = prepare_for_storage(record, pseudonymize)
            prepared.append(clean)
            if phi_counts is not None:
                phi_counts.update(counts)
        return len(self._add_prepared(prepared))

    def _add_prepared(self, records: list[FeedbackRecord]) -> list[int]:
        if not records:
            return []
        now = datetime.now(UTC)
        rows = [self._row(r, now) for r in records]
        with self.engine.begin() as conn:
            self._lock(conn)
            return list(conn.execute(self._insert().returning(feedback.c.id), rows).scalars())

    def _lock(self, conn: sa.Connection) -> None:
        # Postgres hands out sequence values at insert time, so without this a row with a lower
        # id could commit after a sensor has read past it. Writers queue; readers never wait.
        # SQLite writers are serialized already.
        if self.dialect == "postgresql":
            conn.execute(sa.text("LOCK TABLE feedback IN EXCLUSIVE MODE"))

    def _insert(self) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(feedback).on_conflict_do_nothing(index_elements=["dedup_key"])
        if self.dialect == "sqlite":
            return sqlite.insert(feedback).on_conflict_do_nothing(index_elements=["dedup_key"])
        raise NotImplementedError(f"{self}: only SQLite and Postgres are supported")

    @staticmethod
    def _row(record: FeedbackRecord, now: datetime) -> dict[str, Any]:
        return {
            "created_at": (record.created_at or now).astimezone(UTC),
            "user_pseudonym": record.user_id,
            "model_version": record.model_version,
            "rating": record.rating,
            "query": record.query,
            "response": record.response,
            "corrected_response": record.corrected_response,
            "context": record.context,
            "dedup_key": dedup_key(record),
            "key_id": record.key_id,
            "tenant": record.tenant,
            # Every correction waits for a person; ratings alone need no review.
            "review_status": PENDING if record.corrected_response is not None else None,
            "unsupported_numbers": (
                ",".join(record.unsupported_numbers)
                if record.unsupported_numbers is not None
                else None
            ),
        }

    # --- reads ----------------------------------------------------------------------------

    def max_id(self) -> int:
        """The newest id, 0 when empty (a sensor's starting cursor)."""
        with self.engine.connect() as conn:
            return conn.execute(self.statement("max_id")).scalar() or 0

    def since(self, after_id: int, limit: int | None = None) -> list[StoredFeedback]:
        """Rows with id > after_id, oldest first, at most `limit`."""
        return self._rows(self.statement("since", after_id=after_id, limit=limit))

    def recent_average(self, window: int) -> tuple[float | None, int]:
        """Average rating of the newest `window` rows and how many there were."""
        with self.engine.connect() as conn:
            average, count = conn.execute(self.statement("recent_average", window=window)).one()
        return (float(average) if average is not None else None), int(count)

    def count_negative_since(self, after_id: int, threshold: int = 3) -> int:
        """Rows with id > after_id rated below `threshold`."""
        stmt = self.statement("count_negative_since", after_id=after_id, threshold=threshold)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def count_preference_since(
        self, after_id: int, desirable_min: int, undesirable_max: int
    ) -> int:
        """Rows with id > after_id a preference stage can learn from: rated `desirable_min` or
        higher, `undesirable_max` or lower, or carrying a corrected answer."""
        stmt = self.statement(
            "count_preference_since",
            after_id=after_id,
            desirable_min=desirable_min,
            undesirable_max=undesirable_max,
        )
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def corrections(
        self, after_id: int = 0, max_rating: int = 2, review: str | None = APPROVED
    ) -> list[StoredFeedback]:
        """Rows with id > after_id rated `max_rating` or lower that carry a corrected answer, by
        review status (approved by default: what may train; None: any status)."""
        stmt = self.statement("corrections", after_id=after_id, max_rating=max_rating)
        if review is not None:
            stmt = stmt.where(feedback.c.review_status == review)
        return self._rows(stmt)

    def statement(self, name: str, **params: Any) -> sa.Select:
        """The exact query a reader runs, for `query_plan` and tests."""
        if name == "max_id":
            return sa.select(sa.func.max(feedback.c.id))
        if name == "since":
            stmt = sa.select(*STORED_COLUMNS).where(feedback.c.id > params["after_id"])
            return stmt.order_by(feedback.c.id).limit(params.get("limit"))
        if name == "recent_average":
            if params["window"] < 1:
                raise ValueError(f"window must be at least 1, got {params['window']}")
            newest = (
                sa.select(feedback.c.rating)
                .order_by(feedback.c.id.desc())
                .limit(params["window"])
                .subquery()
            )
            return sa.select(sa.func.avg(newest.c.rating), sa.func.count())
        if name == "count_negative_since":
            return sa.select(sa.func.count()).where(
                feedback.c.id > params["after_id"], feedback.c.rating < params["threshold"]
            )
        if name == "count_preference_since":
            return sa.select(sa.func.count()).where(
                feedback.c.id > params["after_id"],
                sa.or_(
                    feedback.c.rating >= params["desirable_min"],
                    feedback.c.rating <= params["undesirable_max"],
                    feedback.c.corrected_response.is_not(None),
                ),
            )
        if name == "corrections":
            stmt = sa.select(*STORED_COLUMNS).where(
                feedback.c.id > params["after_id"],
                feedback.c.rating <= params["max_rating"],
                feedback.c.corrected_response.is_not(None),
            )
            return stmt.order_by(feedback.c.id)
        raise ValueError(f"unknown statement {name!r}")

    def query_plan(self, name: str, **params: Any) -> str:
        """The database's plan for a reader's query: EXPLAIN QUERY PLAN (SQLite) or EXPLAIN."""
        sql = self.statement(name, **params).compile(
            self.engine, compile_kwargs={"literal_binds": True}
        )
        explain = "EXPLAIN QUERY PLAN" if self.dialect == "sqlite" else "EXPLAIN"
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(f"{explain} {sql}").all()
        return "\n".join(str(row[-1]) for row in rows)

    def _rows(self, stmt: sa.Select) -> list[StoredFeedback]:
        with self.engine.connect() as conn:
            return [_stored(row._mapping) for row in conn.execute(stmt)]


def utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were stored as UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stored(row: Any) -> StoredFeedback:
    fields = {**row, "created_at": utc(row["created_at"]), "reviewed_at": utc(row["reviewed_at"])}
    return StoredFeedback(**fields)
