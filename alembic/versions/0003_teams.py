"""teams: row-level security on every tenant table, the application role, team fields

Revision ID: 0003_teams
Revises: 0002
Create Date: 2026-11-30 10:00:00

- Row-level security (see `techdocs_app.db.rls`): every table with `org_id` gets the tenant
  policy (`org_id` = the transaction's `app.org_id`), forced; `organizations` is keyed by its id,
  `users` by a membership in the transaction's organization, `webhook_events` is the owner's only.
  The migrating role (the owner) gets an `owner_maintenance` policy on each.
- The application role (the user of DATABASE_URL; `techdocs_app` on the embedded Postgres) is
  created if missing and granted data privileges, now and by default for later tables.
- `tenant_chunks` and the two search statistics functions keep the hybrid search on its indexes.
- Team fields: membership `last_active_at`; invitation `accepted_by`, `revoked_at`,
  `last_sent_at`; session `last_seen_at` (idle timeout); `seat_refusals`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import context, op
from techdocs_app.db import rls

revision: str = "0003_teams"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERS_CONDITION = (
    # A user is visible to an organization's transaction when they are a member of it, or asked
    # for a seat it could not give (the subqueries run under the memberships and seat_refusals
    # policies, so they see only that organization's rows).
    "EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id) "
    "OR EXISTS (SELECT 1 FROM seat_refusals r WHERE r.user_id = users.id)"
)
ORGANIZATIONS_CONDITION = f"id = {rls.CURRENT_ORG_SQL}"


def _app_url() -> str:
    from techdocs_app.settings import get_settings

    return context.config.attributes.get("app_database_url") or (
        get_settings().effective_database_url
    )


def upgrade() -> None:
    op.add_column(
        "memberships", sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("invitations", sa.Column("accepted_by", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "fk_invitations_accepted_by_users",
        "invitations",
        "users",
        ["accepted_by"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("invitations", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "invitations", sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "auth_sessions",
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.create_index("ix_auth_sessions_expires_at", "auth_sessions", ["expires_at"])
    op.create_table(
        "seat_refusals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "user_id", name="uq_seat_refusals_org_user"),
    )
    op.create_index(op.f("ix_seat_refusals_org_id"), "seat_refusals", ["org_id"], unique=False)

    for table in (*rls.TENANT_TABLES, "seat_refusals"):
        for statement in rls.tenant_rls_statements(table):
            op.execute(statement)
    for statement in rls.tenant_rls_statements("organizations", condition=ORGANIZATIONS_CONDITION):
        op.execute(statement)
    for statement in rls.tenant_rls_statements("users", condition=USERS_CONDITION):
        op.execute(statement)
    for statement in rls.owner_only_statements("webhook_events"):
        op.execute(statement)
    for statement in rls.CHUNK_SEARCH_SQL:
        op.execute(statement)
    rls.ensure_app_role(op.get_bind(), _app_url())


def downgrade() -> None:
    for statement in rls.DROP_CHUNK_SEARCH_SQL:
        op.execute(statement)
    for table in (*rls.TENANT_TABLES, "organizations", "users", "webhook_events"):
        for statement in rls.disable_rls_statements(table):
            op.execute(statement)
    op.drop_index(op.f("ix_seat_refusals_org_id"), table_name="seat_refusals")
    op.drop_table("seat_refusals")
    op.drop_index("ix_auth_sessions_expires_at", table_name="auth_sessions")
    op.drop_column("auth_sessions", "last_seen_at")
    op.drop_column("invitations", "last_sent_at")
    op.drop_column("invitations", "revoked_at")
    op.drop_constraint("fk_invitations_accepted_by_users", "invitations", type_="foreignkey")
    op.drop_column("invitations", "accepted_by")
    op.drop_column("memberships", "last_active_at")
