"""clerk_mirrors: Team-page membership changes Clerk has not confirmed yet (an outbox)

Revision ID: 0006_clerk_mirrors
Revises: 0005_usage
Create Date: 2026-11-30 19:00:00

A removal or role change on our Team page is mirrored to Clerk through its Backend API. When Clerk
does not answer, the change used to stand on our side only, and the removed member's next Clerk
sign-in (whose token still named the organization) gave the seat back. The wish is now a row,
written in the change's own transaction and deleted once Clerk has applied it; while it stands our
side wins, and the maintenance task pushes it again. A tenant table: the tenant policy applies
(the Team page writes it under the organization's `app.org_id`), and the owner's maintenance
policy lets the periodic task read every organization's.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from techdocs_app.db import rls

revision: str = "0006_clerk_mirrors"
down_revision: str | None = "0005_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clerk_mirrors",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "user_id", name="uq_clerk_mirrors_org_user"),
    )
    op.create_index(op.f("ix_clerk_mirrors_org_id"), "clerk_mirrors", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_clerk_mirrors_next_attempt_at"), "clerk_mirrors", ["next_attempt_at"], unique=False
    )
    rls.enable_tenant_rls("clerk_mirrors")


def downgrade() -> None:
    op.drop_index(op.f("ix_clerk_mirrors_next_attempt_at"), table_name="clerk_mirrors")
    op.drop_index(op.f("ix_clerk_mirrors_org_id"), table_name="clerk_mirrors")
    op.drop_table("clerk_mirrors")
