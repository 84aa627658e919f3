"""usage: query-log outcome, answer speed and question key columns; the usage page's indexes

Revision ID: 0005_usage
Revises: 0004_billing
Create Date: 2026-11-30 13:15:00

The query log gains `outcome` (answer | closest | not_found | failed), the answer's time to first
token and to the whole answer as columns (they were only inside the `timings` JSON; both filled
for the rows already logged), and `question_key`, the question normalised for grouping (a
generated column). Indexes: one organization's rows by date, covering what the aggregates read
(index-only scans; it replaces the lone org_id index); its not-found rows by date with their
key; its 👎 messages. The statistics
object on the UTC day lets the planner see ~one group per day (a hash aggregate, not a sort of
every row). No new table: the row-level security of `query_logs` and `messages` already applies.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005_usage"
down_revision: str | None = "0004_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUESTION_KEY_SQL = (
    "left(lower(btrim(regexp_replace(question, '[[:space:]]+', ' ', 'g'), ' ?!.,;:')), 200)"
)


def upgrade() -> None:
    op.add_column("query_logs", sa.Column("outcome", sa.String(length=20), nullable=True))
    op.add_column("query_logs", sa.Column("first_token_ms", sa.Float(), nullable=True))
    op.add_column("query_logs", sa.Column("total_ms", sa.Float(), nullable=True))
    op.add_column(
        "query_logs",
        sa.Column("question_key", sa.Text(), sa.Computed(QUESTION_KEY_SQL, persisted=True)),
    )
    op.execute(
        """
        UPDATE query_logs
        SET outcome = CASE WHEN error IS NOT NULL THEN 'failed'
                           WHEN not_found THEN 'not_found' ELSE 'answer' END,
            first_token_ms = (timings->>'first_token')::float,
            total_ms = (timings->>'total')::float
        """
    )
    op.create_index(
        "ix_query_logs_org_created",
        "query_logs",
        ["org_id", "created_at"],
        unique=False,
        postgresql_include=["user_id", "outcome", "first_token_ms", "total_ms"],
    )
    op.create_index(
        "ix_query_logs_org_not_found",
        "query_logs",
        ["org_id", "created_at"],
        unique=False,
        postgresql_include=["question_key"],
        postgresql_where=sa.text("outcome = 'not_found'"),
    )
    op.create_index(
        "ix_messages_org_thumbs_down",
        "messages",
        ["org_id", "id"],
        unique=False,
        postgresql_where=sa.text("feedback < 0"),
    )
    # The composite index leads with org_id: the lone org_id index is redundant, and the planner
    # preferred it (reading the table) to the covering index (reading the index alone).
    op.drop_index("ix_query_logs_org_id", table_name="query_logs")
    op.execute(
        "CREATE STATISTICS IF NOT EXISTS st_query_logs_utc_day "
        "ON ((created_at AT TIME ZONE 'UTC')::date) FROM query_logs"
    )
    op.execute("ANALYZE query_logs")


def downgrade() -> None:
    op.execute("DROP STATISTICS IF EXISTS st_query_logs_utc_day")
    op.create_index("ix_query_logs_org_id", "query_logs", ["org_id"], unique=False)
    op.drop_index("ix_messages_org_thumbs_down", table_name="messages")
    op.drop_index("ix_query_logs_org_not_found", table_name="query_logs")
    op.drop_index("ix_query_logs_org_created", table_name="query_logs")
    op.drop_column("query_logs", "question_key")
    op.drop_column("query_logs", "total_ms")
    op.drop_column("query_logs", "first_token_ms")
    op.drop_column("query_logs", "outcome")
