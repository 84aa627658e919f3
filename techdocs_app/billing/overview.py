"""What the Billing page and the app-wide banner show (one service call each, no Reflex).

Everyone sees the status in words; owners also see the plan's price, the seats, and Subscribe or
Manage billing. With billing off (no STRIPE_SECRET_KEY) the page says billing is not set up.
A Stripe outage while reading the price shows a message and changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from techdocs_app.auth import Principal, team
from techdocs_app.auth.permissions import Action, allowed, require
from techdocs_app.billing import billing_enabled, stripe_api
from techdocs_app.billing.access import standing_of
from techdocs_app.billing.plans import LIVE_STRIPE_STATUSES, Standing
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Organization, utcnow
from techdocs_app.errors import NotFound, ProviderError
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

PLAN_NAME = "TechDocs AI for one shop"


@dataclass(frozen=True)
class BillingOverview:
    enabled: bool
    status: str
    summary: str
    read_only: bool
    date_label: str
    """"Renews on December 30, 2026", "Trial ends on …", "Ended on …" ("" when none)."""
    seats_used: int
    seat_limit: int
    can_manage: bool
    subscribed: bool
    """A live subscription: Manage billing (else Subscribe)."""
    plan_name: str = PLAN_NAME
    price_label: str = ""
    problem: str = ""
    """A plain sentence when Stripe could not be reached (nothing was changed)."""


def _date(value: datetime | None) -> str:
    return f"{value:%B %-d, %Y}" if value else ""


def date_label(state: Standing) -> str:
    when = _date(state.ends_at)
    if not when:
        return ""
    if state.status == "trialing":
        return f"Trial ended on {when}" if state.read_only else f"Trial ends on {when}"
    if state.status == "active":
        return f"Renews on {when}" if state.renews else f"Ends on {when}"
    if state.status == "past_due":
        return f"Read-only since {when}" if state.read_only else f"Grace period ends on {when}"
    if state.status == "canceled":
        return f"Ended on {when}"
    return ""


def billing_overview(principal: Principal) -> BillingOverview:
    require(principal, Action.VIEW_BILLING_STATUS)
    now = utcnow()
    with session_scope(org_id=principal.org_id) as session:
        org = session.get(Organization, principal.org_id)
        if org is None:
            raise NotFound("This shop no longer exists.")
        seats_used = team.seats_in_use(session, org_id=principal.org_id, now=now)
    state = standing_of(org, now=now)
    can_manage = allowed(principal.role, Action.MANAGE_BILLING)
    enabled = billing_enabled()
    price_label, problem = "", ""
    price_id = get_settings().stripe_price_id
    if enabled and can_manage and price_id:
        try:
            price_label = stripe_api.price_info(price_id).amount_label
        except ProviderError as exc:
            problem = exc.user_message
    return BillingOverview(
        enabled=enabled,
        status=state.status,
        summary=state.summary,
        read_only=state.read_only,
        date_label=date_label(state) if enabled else "",
        seats_used=seats_used,
        seat_limit=org.seat_limit,
        can_manage=can_manage,
        subscribed=org.subscription_status in LIVE_STRIPE_STATUSES,
        price_label=price_label,
        problem=problem,
    )


@dataclass(frozen=True)
class Banner:
    text: str
    """The app-wide banner for this person ("" for none): trial ending, past due, read-only."""
    read_only: bool
    """Asking and uploading are refused: the chat disables Send before anyone types."""


def banner_for(principal: Principal) -> Banner:
    """The banner and whether the shop is read-only (one primary-key read; none with billing off)."""
    if not billing_enabled():
        return Banner("", False)
    from techdocs_app.billing.access import standing_for

    standing = standing_for(principal)
    return Banner(standing.banner(is_owner=principal.role == "owner"), standing.read_only)


def banner_text(principal: Principal) -> str:
    """The app-wide banner for this person ("" for none): trial ending, past due, read-only."""
    return banner_for(principal).text
