"""Subscribing, managing, and Stripe's subscription written onto the organization.

- `start_checkout(principal)`: owners only; creates (once) or reuses the organization's Stripe
  customer, then a Checkout Session in subscription mode (`client_reference_id` = organization,
  idempotency key per organization, customer, price and 10-minute window, so a double click opens
  the same session). Returns the URL to send the browser to.
- `open_portal(principal)`: owners only; a Customer Portal session for the customer.
- `apply_subscription(org, sub)`: the newest state Stripe gives us, written onto the row (the
  webhook handler locks the row and re-reads the subscription first, so events arriving out of
  order still leave the newest state). Seats follow the price's metadata `seats`.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, require
from techdocs_app.billing import billing_enabled, stripe_api
from techdocs_app.billing.plans import LIVE_STRIPE_STATUSES, seats_from_metadata
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Organization, utcnow
from techdocs_app.errors import NotFound, ValidationFailed
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

NOT_SET_UP = "Billing is not set up on this server."
CHECKOUT_WINDOW_S = 600


def _org(principal: Principal) -> Organization:
    with session_scope(org_id=principal.org_id) as session:
        org = session.get(Organization, principal.org_id)
    if org is None:
        raise NotFound("This shop no longer exists.")
    return org


def ensure_customer(principal: Principal, org: Organization | None = None) -> str:
    """The organization's Stripe customer, created (once) if it has none yet."""
    require(principal, Action.MANAGE_BILLING)
    org = org or _org(principal)
    if org.stripe_customer_id:
        return org.stripe_customer_id
    customer_id = stripe_api.create_customer(
        org_id=principal.org_id, name=org.name, email=principal.email
    )
    with session_scope(org_id=principal.org_id) as session:
        # Only the first one sticks (two owners clicking at once get the same customer anyway:
        # the create call carries an idempotency key per organization).
        session.execute(
            update(Organization)
            .where(col(Organization.id) == principal.org_id)
            .where(col(Organization.stripe_customer_id).is_(None))
            .values(stripe_customer_id=customer_id)
        )
        stored = session.get(Organization, principal.org_id)
        return (stored.stripe_customer_id if stored else None) or customer_id


def start_checkout(principal: Principal, *, now: float | None = None) -> str:
    """The Checkout URL for this organization's owner (raises with a plain message)."""
    require(principal, Action.MANAGE_BILLING)
    settings = get_settings()
    if not billing_enabled() or not settings.stripe_price_id:
        raise ValidationFailed(NOT_SET_UP)
    org = _org(principal)
    if org.subscription_status in LIVE_STRIPE_STATUSES:
        raise ValidationFailed(
            "This shop already has a subscription: use Manage billing to change it."
        )
    customer_id = ensure_customer(principal, org)
    window = int((now if now is not None else time.time()) // CHECKOUT_WINDOW_S)
    key = f"techdocs-checkout-{principal.org_id}-{customer_id}-{settings.stripe_price_id}-{window}"
    return stripe_api.create_checkout_session(
        org_id=principal.org_id,
        customer_id=customer_id,
        price_id=settings.stripe_price_id,
        app_url=settings.app_url,
        idempotency_key=key,
    )


def open_portal(principal: Principal) -> str:
    require(principal, Action.MANAGE_BILLING)
    if not billing_enabled():
        raise ValidationFailed(NOT_SET_UP)
    org = _org(principal)
    if not org.stripe_customer_id:
        raise ValidationFailed("Subscribe first: there is no billing account to manage yet.")
    return stripe_api.create_portal_session(
        customer_id=org.stripe_customer_id, app_url=get_settings().app_url
    )


# --- Stripe's subscription onto the organization ---------------------------------------------


def _ts(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _first_item(sub: dict[str, Any]) -> dict[str, Any]:
    items = sub.get("items") or {}
    data = items.get("data") if isinstance(items, dict) else None
    return data[0] if data and isinstance(data[0], dict) else {}


def _price_of(sub: dict[str, Any]) -> dict[str, Any]:
    """The subscription's price (Stripe's `price`, or the legacy `plan` localstripe speaks)."""
    item = _first_item(sub)
    for key in ("price", "plan"):
        value = item.get(key) or sub.get(key)
        if isinstance(value, dict):
            return value
    return {}


def subscription_fields(sub: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The organization's columns for Stripe's subscription `sub` (pure: unit-tested)."""
    item = _first_item(sub)
    price = _price_of(sub)
    period_end = _ts(sub.get("current_period_end")) or _ts(item.get("current_period_end"))
    cancel_at = _ts(sub.get("cancel_at"))
    if cancel_at is None and sub.get("cancel_at_period_end"):
        cancel_at = period_end
    status = str(sub.get("status") or "")
    return {
        "stripe_subscription_id": str(sub.get("id") or "") or None,
        "subscription_status": status or None,
        "stripe_price_id": str(price.get("id") or "") or None,
        "current_period_end": period_end,
        "cancel_at": cancel_at if status in LIVE_STRIPE_STATUSES else None,
        "seat_limit": seats_from_metadata(price.get("metadata"), get_settings().default_seat_limit),
        "plan": "paid" if status in LIVE_STRIPE_STATUSES else "trial",
        "subscription_synced_at": now,
    }


def is_stale(org: Organization, sub: dict[str, Any]) -> bool:
    """An ended subscription must not overwrite a newer live one of the same organization (a
    late `customer.subscription.deleted` of the subscription the shop had before resubscribing)."""
    current = org.stripe_subscription_id
    return bool(
        current
        and current != sub.get("id")
        and org.subscription_status in LIVE_STRIPE_STATUSES
        and str(sub.get("status") or "") not in LIVE_STRIPE_STATUSES
    )


def apply_subscription(org: Organization, sub: dict[str, Any], *, now: datetime) -> bool:
    """Write `sub` onto `org` (in the caller's transaction). False when it was stale. Returns
    True when anything the shop sees may have changed."""
    if is_stale(org, sub):
        log.info("stripe: ignored stale subscription %s for org %s", sub.get("id"), org.id)
        return False
    fields = subscription_fields(sub, now=now)
    if fields["subscription_status"] in ("past_due", "unpaid"):
        fields["past_due_since"] = org.past_due_since or now
    else:
        fields["past_due_since"] = None
    for name, value in fields.items():
        setattr(org, name, value)
    return True


def refresh_from_stripe(org_id: int) -> str | None:
    """Re-read the organization's subscription from Stripe and store it (the Billing page after
    Checkout, and `python -m techdocs_app billing sync`). Returns the status, None if none."""
    with session_scope(org_id=org_id) as session:
        org = session.get(Organization, org_id)
        if org is None or not org.stripe_customer_id:
            return None
        if org.stripe_subscription_id:
            sub: dict[str, Any] | None = stripe_api.retrieve_subscription(
                org.stripe_subscription_id
            )
        else:
            sub = stripe_api.latest_subscription_of(org.stripe_customer_id)
        if sub is None:
            return org.subscription_status
        locked = session.get(Organization, org_id, with_for_update=True)
        assert locked is not None
        apply_subscription(locked, sub, now=utcnow())
        session.add(locked)
        return locked.subscription_status
