"""The feedback store's tables (SQLAlchemy Core): `feedback`, one row per rated answer, with the
columns the review queue added (migrated into older stores, all nullable), and `rater_trust`,
the trust level an admin gave each API key."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
feedback = sa.Table(
    "feedback",
    metadata,
    # AUTOINCREMENT on SQLite: ids are never reused after a delete, so a sensor cursor stays valid.
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
    # Added by the review queue (migrated into older stores: all nullable).
    sa.Column("key_id", sa.String(40)),
    sa.Column("tenant", sa.String(100)),
    sa.Column("review_status", sa.String(16)),
    sa.Column("reviewed_by", sa.String(300)),
    sa.Column("reviewed_at", sa.DateTime(timezone=True)),
    sa.Column("review_reason", sa.Text),
    sa.Column("unsupported_numbers", sa.Text),
    sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_feedback_rating"),
    # The sensor counts approved corrections each tick: an index keeps that off the whole table.
    sa.Index("ix_feedback_review_status", "review_status"),
    sqlite_autoincrement=True,
)
STORED_COLUMNS = [c for c in feedback.c if c.name != "dedup_key"]
MIGRATED_COLUMNS = (
    "key_id", "tenant", "review_status", "reviewed_by", "reviewed_at", "review_reason",
    "unsupported_numbers",
)  # fmt: skip
# Trust levels an admin gives API keys: the preference stage learns only from trusted keys.
rater_trust = sa.Table(
    "rater_trust",
    metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("set_by", sa.String(300), nullable=False),
    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
