"""Stripe's webhooks (`POST /api/webhooks/stripe`): verified, applied once, safe out of order.

1. `stripe.Webhook.construct_event` with STRIPE_WEBHOOK_SECRET: a bad or missing signature, a
   tampered body or a timestamp older than 5 minutes answers 400 and changes nothing.
2. An event type we do not handle answers 200 `ignored` (Stripe stops sending it) and writes
   nothing.
3. In one transaction: the event id goes into `webhook_events` (provider `stripe`); a replayed
   id answers 200 `duplicate` and changes nothing. The organization is found by its Stripe
   customer (a Checkout Session also by `client_reference_id`) and its row locked; an event for a
   customer we do not know answers 200 `ignored` and writes nothing (the transaction is rolled
   back: that customer is not one of ours).
4. The subscription is re-read from Stripe under the row lock and written onto the organization
   (`subscriptions.apply_subscription`): whatever order events arrive in, the row ends with
   Stripe's newest state. Stripe unreachable: 503 and nothing written (Stripe retries later).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlmodel import Session, select

from techdocs_app.billing import stripe_api
from techdocs_app.billing.subscriptions import apply_subscription
from techdocs_app.db import webhook_events
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Organization, utcnow
from techdocs_app.db.webhook_events import WebhookOutcome
from techdocs_app.errors import WebhookRejected
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

PROVIDER = "stripe"
HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
    }
)


class _Ignore(Exception):
    """Roll the transaction back: the event is not for us."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _str(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if isinstance(value, str) and value else None


def references(event_type: str, obj: dict[str, Any]) -> tuple[str | None, str | None, int | None]:
    """(customer id, subscription id, organization id from client_reference_id) of an event's
    object, for each handled type (invoices name their subscription in `subscription` or, in
    newer API versions, `parent.subscription_details.subscription`)."""
    customer = _str(obj.get("customer"))
    if event_type.startswith("customer.subscription."):
        return customer, _str(obj.get("id")), None
    if event_type == "checkout.session.completed":
        ref = str(obj.get("client_reference_id") or "")
        org_id = int(ref) if ref.isascii() and ref.isdigit() and len(ref) < 19 else None
        return customer, _str(obj.get("subscription")), org_id
    subscription = _str(obj.get("subscription"))
    if subscription is None:
        parent = obj.get("parent") or {}
        details = parent.get("subscription_details") if isinstance(parent, dict) else None
        if isinstance(details, dict):
            subscription = _str(details.get("subscription"))
    return customer, subscription, None


def _find_org(
    session: Session, *, customer: str | None, subscription: str | None, org_id: int | None
) -> Organization | None:
    if customer:
        org = session.exec(
            select(Organization)
            .where(Organization.stripe_customer_id == customer)
            .with_for_update()
        ).first()
        if org is not None:
            return org
    if subscription:
        org = session.exec(
            select(Organization)
            .where(Organization.stripe_subscription_id == subscription)
            .with_for_update()
        ).first()
        if org is not None:
            return org
    if org_id is not None and customer:
        # Checkout completed for an organization whose customer id we have not stored yet
        # (created elsewhere): adopt it, never replacing another customer.
        org = session.get(Organization, org_id, with_for_update=True)
        if org is not None and org.stripe_customer_id in (None, customer):
            org.stripe_customer_id = customer
            return org
    return None


def _apply(event: dict[str, Any]) -> WebhookOutcome:
    event_type = str(event.get("type"))
    obj = (event.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict):
        raise WebhookRejected(400, "The event has no object.")
    customer, subscription_id, ref_org = references(event_type, obj)
    with system_session_scope() as session:
        event_row_id = webhook_events.record_event(
            session,
            provider=PROVIDER,
            event_id=str(event["id"]),
            event_type=str(event.get("type") or ""),
            payload={"type": event.get("type"), "created": event.get("created")},
        )
        if event_row_id is None:
            return WebhookOutcome("duplicate")
        org = _find_org(session, customer=customer, subscription=subscription_id, org_id=ref_org)
        if org is None:
            raise _Ignore("unknown customer")
        assert org.id is not None
        if subscription_id is None:
            # An invoice without a subscription, a one-off payment: nothing about the plan.
            webhook_events.mark_processed(session, event_row_id=event_row_id)
            return WebhookOutcome("applied", "no subscription", org.id)
        # Out of order safe: Stripe's current subscription, not the event's snapshot.
        sub = stripe_api.retrieve_subscription(subscription_id)
        changed = apply_subscription(org, sub, now=utcnow())
        session.add(org)
        webhook_events.mark_processed(session, event_row_id=event_row_id)
        log.info(
            "stripe %s org_id=%s subscription=%s status=%s",
            event_type,
            org.id,
            subscription_id,
            org.subscription_status,
        )
        return WebhookOutcome(
            "applied" if changed else "ignored", "" if changed else "stale", org.id
        )


def handle(body: bytes, signature: str | None) -> WebhookOutcome:
    """Verify and apply one webhook delivery (raises `WebhookRejected` with the HTTP status)."""
    secret = get_settings().stripe_webhook_secret
    if secret is None:
        raise WebhookRejected(404, "Not found.")
    try:
        stripe_api.verify_event(body, signature, secret.get_secret_value())
    except stripe_api.SignatureError as exc:
        log.warning("stripe webhook: bad signature")
        raise WebhookRejected(400, "Bad signature.") from exc
    except ValueError as exc:
        raise WebhookRejected(400, "The body is not a Stripe event.") from exc
    try:
        event = json.loads(body)
    except ValueError as exc:  # verified above, so this does not happen; stay safe anyway
        raise WebhookRejected(400, "The body is not JSON.") from exc
    if not isinstance(event, dict) or not event.get("id"):
        raise WebhookRejected(400, "The body is not a Stripe event.")
    if event.get("type") not in HANDLED_EVENTS:
        return WebhookOutcome("ignored", "event type not handled")
    try:
        outcome = _apply(event)
    except _Ignore as exc:
        log.info("stripe webhook %s ignored: %s", event.get("type"), exc.reason)
        return WebhookOutcome("ignored", exc.reason)
    except stripe_api.StripeUnavailable as exc:
        raise WebhookRejected(503, "Stripe could not be reached; try again later.") from exc
    if outcome.status == "applied" and outcome.org_id is not None:
        _push_seats(outcome.org_id)
    return outcome


def _push_seats(org_id: int) -> None:
    """Clerk mode: Clerk's membership limit follows the plan's seats (no-op otherwise)."""
    from techdocs_app.auth import clerk

    if not clerk.clerk_enabled():
        return
    try:
        clerk.sync_seat_limit(org_id)
    except Exception:  # noqa: BLE001 - Clerk's limit is re-pushed at the next change
        log.warning("stripe webhook: could not push the seat limit to Clerk", exc_info=True)
