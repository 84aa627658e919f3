"""usage: query-log outcome and answer-speed columns, indexes for the usage page's aggregates

Revision ID: 0005_usage
Revises: 0003_api_keys
Create Date: 2026-11-30 13:15:00

The query log gains `outcome` (answer | closest | not_found) and the answer's time to first token
and to the whole answer as columns (they were only inside the `timings` JSON), filled for the rows
already logged. Indexes: one organization's rows by date, its not-found rows by date (top
unanswered questions) and its 👎 messages. No new table: the row-level security policies of
`query_logs` and `messages` already apply.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005_usage"
down_revision: str | None = "0003_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("query_logs", sa.Column("outcome", sa.String(length=20), nullable=True))
    op.add_column("query_logs", sa.Column("first_token_ms", sa.Float(), nullable=True))
    op.add_column("query_logs", sa.Column("total_ms", sa.Float(), nullable=True))
    op.execute(
        """
        UPDATE query_logs
        SET outcome = CASE WHEN error IS NOT NULL THEN NULL
                           WHEN not_found THEN 'not_found' ELSE 'answer' END,
            first_token_ms = (timings->>'first_token')::float,
            total_ms = (timings->>'total')::float
        """
    )
    op.create_index(
        "ix_query_logs_org_created", "query_logs", ["org_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_query_logs_org_not_found",
        "query_logs",
        ["org_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("not_found"),
    )
    op.create_index(
        "ix_messages_org_thumbs_down",
        "messages",
        ["org_id", "id"],
        unique=False,
        postgresql_where=sa.text("feedback < 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_org_thumbs_down", table_name="messages")
    op.drop_index("ix_query_logs_org_not_found", table_name="query_logs")
    op.drop_index("ix_query_logs_org_created", table_name="query_logs")
    op.drop_column("query_logs", "total_ms")
    op.drop_column("query_logs", "first_token_ms")
    op.drop_column("query_logs", "outcome")
