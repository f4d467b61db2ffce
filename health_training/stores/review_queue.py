"""The review queue and trust levels, in the feedback store's database.

Every stored correction starts `pending`; only an approved one becomes a training example
(`data.feedback.feedback_examples`), so no rating, however many arrive, retrains the model on its
own say-so. A decision records who (the admin key id, or the operator at the CLI), when and why,
and is final: a pending correction is approved or rejected once. A correction the number guard
flagged (numbers the question does not support) is approved only when the reviewer says so.

Trust levels (0 untrusted, 1 trusted, 2 clinician) are set per API key by an admin: the
preference stage learns only from ratings of keys with a level (data/feedback_review.py), and the
feedback sensor counts the users of a trusted key apart (an untrusted key is one rater).

    queue = ReviewQueue(store)
    queue.pending()                       # oldest first
    queue.decide(12, approve=True, by="admin-key:k_3f...", reason="matches the chart")
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from health_training.data.feedback import APPROVED, PENDING, REJECTED, StoredFeedback
from health_training.stores.feedback_store import FeedbackStore, _stored
from health_training.stores.feedback_tables import STORED_COLUMNS, feedback, rater_trust

TRUST_LEVELS = {0: "untrusted", 1: "trusted", 2: "clinician"}


class ReviewError(ValueError):
    """A decision that cannot be made; `code` is a stable slug, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ReviewQueue:
    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    # --- the queue --------------------------------------------------------------------------

    def list(self, status: str = PENDING, limit: int = 100, after_id: int = 0) -> list:
        """Corrections with this status, oldest first."""
        stmt = (
            sa.select(*STORED_COLUMNS)
            .where(feedback.c.review_status == status, feedback.c.id > after_id)
            .order_by(feedback.c.id)
            .limit(limit)
        )
        with self.store.engine.connect() as conn:
            return [_stored(row._mapping) for row in conn.execute(stmt)]

    def pending(self, limit: int = 100) -> list[StoredFeedback]:
        return self.list(PENDING, limit)

    def counts(self) -> dict[str, int]:
        stmt = sa.select(feedback.c.review_status, sa.func.count()).group_by(
            feedback.c.review_status
        )
        with self.store.engine.connect() as conn:
            found = {status: n for status, n in conn.execute(stmt) if status is not None}
        return {s: found.get(s, 0) for s in (PENDING, APPROVED, REJECTED)}

    def decide(
        self,
        feedback_id: int,
        *,
        approve: bool,
        by: str,
        reason: str,
        accept_unsupported_numbers: bool = False,
        now: datetime | None = None,
    ) -> StoredFeedback:
        """Approve or reject one pending correction; the updated row. Raises ReviewError."""
        if not by.strip() or not reason.strip():
            raise ReviewError("missing_reason", "a decision needs who made it and why")
        with self.store.engine.begin() as conn:
            row = conn.execute(
                sa.select(*STORED_COLUMNS).where(feedback.c.id == feedback_id)
            ).first()
            if row is None or row.review_status is None:
                raise ReviewError("not_found", f"feedback {feedback_id} is no correction")
            if row.review_status != PENDING:
                raise ReviewError(
                    "already_decided",
                    f"feedback {feedback_id} was {row.review_status} by {row.reviewed_by}",
                )
            if approve and row.unsupported_numbers and not accept_unsupported_numbers:
                raise ReviewError(
                    "unsupported_numbers",
                    f"feedback {feedback_id}'s correction states numbers the question does not "
                    f"support ({row.unsupported_numbers}): check them, then approve with "
                    "accept_unsupported_numbers (CLI: --accept-unsupported-numbers)",
                )
            # The status in the WHERE: of two reviewers deciding at once, one wins.
            done = conn.execute(
                feedback.update()
                .where(feedback.c.id == feedback_id, feedback.c.review_status == PENDING)
                .values(
                    review_status=APPROVED if approve else REJECTED,
                    reviewed_by=by[:300],
                    reviewed_at=now or datetime.now(UTC),
                    review_reason=reason,
                )
            )
            if done.rowcount != 1:
                raise ReviewError("already_decided", f"feedback {feedback_id} was just decided")
            row = conn.execute(sa.select(*STORED_COLUMNS).where(feedback.c.id == feedback_id)).one()
        return _stored(row._mapping)

    def approved_count(self) -> int:
        """Approved corrections in all: only grows, so a sensor can count new ones by it."""
        stmt = sa.select(sa.func.count()).where(feedback.c.review_status == APPROVED)
        with self.store.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    # --- trust ------------------------------------------------------------------------------

    def set_trust(
        self, key_id: str, level: int, *, by: str, reason: str, now: datetime | None = None
    ) -> dict[str, Any]:
        if level not in TRUST_LEVELS:
            raise ReviewError("bad_level", f"trust level must be one of {sorted(TRUST_LEVELS)}")
        row = {
            "key_id": key_id,
            "level": level,
            "set_by": by[:300],
            "set_at": now or datetime.now(UTC),
            "reason": reason,
        }
        with self.store.engine.begin() as conn:
            conn.execute(rater_trust.delete().where(rater_trust.c.key_id == key_id))
            conn.execute(rater_trust.insert().values(**row))
        return row

    def trust_levels(self) -> dict[str, int]:
        """key id -> level, for every key an admin gave a level."""
        with self.store.engine.connect() as conn:
            return {k: int(v) for k, v in conn.execute(sa.select(rater_trust.c.key_id,
                                                                 rater_trust.c.level))}  # fmt: skip

    # --- what the feedback sensor reads ---------------------------------------------------------

    def ratings_since(self, after_id: int, limit: int | None = None) -> list[tuple[Any, ...]]:
        """(id, key_id, user_pseudonym, rating, has correction) of rows with id > after_id."""
        stmt = (
            _rating_columns().where(feedback.c.id > after_id).order_by(feedback.c.id).limit(limit)
        )
        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]

    def newest_ratings(self, window: int) -> list[tuple[Any, ...]]:
        """The same tuples for the newest `window` rows, newest first."""
        stmt = _rating_columns().order_by(feedback.c.id.desc()).limit(window)
        with self.store.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]


def _rating_columns() -> Any:
    """(id, key_id, user_pseudonym, rating, has correction): what the sensor counts raters by."""
    return sa.select(
        feedback.c.id,
        feedback.c.key_id,
        feedback.c.user_pseudonym,
        feedback.c.rating,
        feedback.c.corrected_response.is_not(None),
    )
