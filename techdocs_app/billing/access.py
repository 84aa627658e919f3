"""The service-layer check behind read-only shops: asking and uploading refuse, reading never does.

`require_capability(principal, Capability.ASK)` is called by the ask pipeline (chat and REST) and
by uploads (Library and REST) next to their permission checks. With billing off (`unlimited`) it
returns at once without touching the database.
"""

from __future__ import annotations

from datetime import datetime

from techdocs_app.auth import Principal
from techdocs_app.billing import billing_enabled
from techdocs_app.billing.plans import BillingFacts, Capability, Standing, refusal_message, standing
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Organization, utcnow
from techdocs_app.errors import NotFound, ReadOnlyPlan
from techdocs_app.settings import get_settings

UNLIMITED = Standing(status="unlimited", read_only=False, reason="")


def facts_of(org: Organization) -> BillingFacts:
    return BillingFacts(
        subscription_status=org.subscription_status,
        trial_ends_at=org.trial_ends_at,
        past_due_since=org.past_due_since,
        current_period_end=org.current_period_end,
        cancel_at=org.cancel_at,
    )


def standing_of(org: Organization, *, now: datetime | None = None) -> Standing:
    return standing(
        facts_of(org),
        now=now or utcnow(),
        billing_enabled=billing_enabled(),
        grace_days=get_settings().billing_grace_days,
    )


def standing_for(principal: Principal) -> Standing:
    """The principal's organization's standing (one primary-key read; none with billing off)."""
    if not billing_enabled():
        return UNLIMITED
    with session_scope(org_id=principal.org_id) as session:
        org = session.get(Organization, principal.org_id)
        if org is None:
            raise NotFound("This shop no longer exists.")
        return standing_of(org)


def require_capability(principal: Principal, capability: Capability) -> None:
    """Raise `ReadOnlyPlan` (what happened, who can fix it) when the shop is read-only."""
    state = standing_for(principal)
    if not state.allows(capability):
        raise ReadOnlyPlan(
            refusal_message(state, is_owner=principal.role == "owner"),
            detail=f"read-only {state.reason} {capability}",
        )
