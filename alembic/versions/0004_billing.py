"""billing: the subscription's period end, cancellation, overdue start, price (Stripe)

Revision ID: 0004_billing
Revises: 0003_api_keys
Create Date: 2026-11-30 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004_billing"
down_revision: str | None = "0003_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("stripe_price_id", sa.String(length=255)),
    ("current_period_end", sa.DateTime(timezone=True)),
    ("cancel_at", sa.DateTime(timezone=True)),
    ("past_due_since", sa.DateTime(timezone=True)),
    ("subscription_synced_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    # organizations is already under row-level security (0003_teams); new columns inherit it.
    for name, type_ in _COLUMNS:
        op.add_column("organizations", sa.Column(name, type_, nullable=True))
    # Webhooks find the organization by its Stripe subscription as well as by its customer.
    op.create_index(
        "ix_organizations_stripe_subscription_id",
        "organizations",
        ["stripe_subscription_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_organizations_stripe_subscription_id", table_name="organizations")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("organizations", name)
