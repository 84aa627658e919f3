"""The subscription lifecycle against localstripe, a real stateful Stripe emulator, with the real
`stripe` SDK: customer, subscription, payment failure, cancellation. localstripe signs each event
and delivers it to our webhook endpoint served by uvicorn (the app's own HTTP routes); the handler
verifies it, re-reads the subscription from localstripe and updates the organization."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import text

from tests.conftest import _reset_settings_caches
from tests.fakes.localstripe_server import register_webhook, running_localstripe
from tests.fakes.server import serve_in_thread

pytestmark = pytest.mark.integration

SECRET = "whsec_localstripe_lifecycle"
PLAN = "price_techdocs_shop"
KEY = "sk_test_localstripe"


@pytest.fixture
def localstripe() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture
def app_url(db: dict[str, str]) -> Iterator[str]:
    from techdocs_app import cache, jobs
    from techdocs_app.api import api

    cache.reset_redis()
    jobs.reset_jobs()
    with serve_in_thread(api, name="techdocs-api") as url:
        yield url


@pytest.fixture
def billing(
    localstripe: str, app_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[stripe.StripeClient]:
    monkeypatch.setenv("STRIPE_SECRET_KEY", KEY)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STRIPE_PRICE_ID", PLAN)
    monkeypatch.setenv("STRIPE_BASE_URL", localstripe)
    _reset_settings_caches()
    register_webhook(localstripe, endpoint=f"{app_url}/api/webhooks/stripe", secret=SECRET)
    # The customer's side (what Checkout and the Portal do at Stripe), through the same SDK.
    yield stripe.StripeClient(KEY, base_addresses={"api": localstripe}, max_network_retries=0)
    monkeypatch.undo()
    _reset_settings_caches()


def _org(org_id: int) -> dict[str, Any]:
    from techdocs_app.db.engine import system_session_scope

    with system_session_scope() as session:
        return dict(
            session.connection()
            .execute(text("SELECT * FROM organizations WHERE id = :id"), {"id": org_id})
            .mappings()
            .one()
        )


def _events() -> list[str]:
    from techdocs_app.db.engine import system_session_scope

    with system_session_scope() as session:
        rows = session.connection().execute(
            text("SELECT event_type FROM webhook_events WHERE processed_at IS NOT NULL ORDER BY id")
        )
        return [r[0] for r in rows]


def _wait_for(org_id: int, status: str, timeout: float = 20.0) -> dict[str, Any]:
    """localstripe delivers webhooks about a second after the change."""
    deadline = time.monotonic() + timeout
    while True:
        row = _org(org_id)
        if row["subscription_status"] == status:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"status stayed {row['subscription_status']!r}, not {status!r}")
        time.sleep(0.2)


def _card(client: stripe.StripeClient, customer: str, number: str) -> str:
    pm = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"},
        }
    )
    client.v1.payment_methods.attach(pm.id, params={"customer": customer})
    client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    return pm.id


def test_subscription_lifecycle_through_signed_webhooks(
    billing: stripe.StripeClient,
    localstripe: str,
    make_org: Callable,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from techdocs_app import library
    from techdocs_app.billing import subscriptions
    from techdocs_app.billing.access import standing_for
    from techdocs_app.errors import ReadOnlyPlan

    client = billing
    client.v1.plans.create(
        params={
            "id": PLAN,
            "amount": 2000,
            "currency": "usd",
            "interval": "month",
            "product": {"name": "TechDocs AI"},
            "metadata": {"seats": "3"},
        }
    )
    owner = make_org("Lifecycle Shop")
    assert standing_for(owner).status == "trialing"

    # customer: created through our service, stored on the organization
    customer = subscriptions.ensure_customer(owner)
    assert customer.startswith("cus_")
    assert _org(owner.org_id)["stripe_customer_id"] == customer
    assert client.v1.customers.retrieve(customer).metadata["org_id"] == str(owner.org_id)

    # subscription: paid with a good card → active, with the plan's seats
    _card(client, customer, "4242424242424242")
    sub = client.v1.subscriptions.create(params={"customer": customer, "items": [{"plan": PLAN}]})
    assert sub.status == "active"
    row = _wait_for(owner.org_id, "active")
    assert row["stripe_subscription_id"] == sub.id
    assert row["stripe_price_id"] == PLAN
    assert row["seat_limit"] == 3
    assert row["current_period_end"] is not None
    assert row["plan"] == "paid"
    state = standing_for(owner)
    assert (state.status, state.read_only) == ("active", False)
    library.check_upload_allowed(owner)

    # payment failure: a renewal invoice whose card needs authentication that fails →
    # invoice.payment_failed → past_due, still working during the grace period
    _card(client, customer, "4000002760003184")
    client.v1.invoice_items.create(
        params={"customer": customer, "amount": 2000, "currency": "usd", "subscription": sub.id}
    )
    invoice = client.v1.invoices.create(params={"customer": customer, "subscription": sub.id})
    invoice = client.v1.invoices.pay(invoice.id)
    intent = client.v1.payment_intents.retrieve(str(invoice.to_dict()["payment_intent"]))
    assert intent.status == "requires_action"
    failed = httpx.post(
        f"{localstripe}/v1/payment_intents/{intent.id}/_authenticate",
        data={"client_secret": intent.client_secret, "success": "false"},
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    )
    assert failed.status_code == 200, failed.text
    row = _wait_for(owner.org_id, "past_due")
    assert row["past_due_since"] is not None
    state = standing_for(owner)
    assert (state.status, state.read_only, state.days_left) == ("past_due", False, 7)
    library.check_upload_allowed(owner)
    # ...and read-only once the grace period is over
    monkeypatch.setenv("BILLING_GRACE_DAYS", "0")
    _reset_settings_caches()
    with pytest.raises(ReadOnlyPlan) as overdue:
        library.check_upload_allowed(owner)
    assert overdue.value.user_message.startswith("Payment is overdue: the shop is read-only.")
    monkeypatch.delenv("BILLING_GRACE_DAYS")
    _reset_settings_caches()

    # cancellation → customer.subscription.deleted → canceled, read-only, nothing deleted
    client.v1.subscriptions.cancel(sub.id)
    row = _wait_for(owner.org_id, "canceled")
    assert row["past_due_since"] is None
    state = standing_for(owner)
    assert (state.status, state.read_only, state.reason) == ("canceled", True, "canceled")
    with pytest.raises(ReadOnlyPlan) as ended:
        library.check_upload_allowed(owner)
    assert ended.value.user_message.startswith("The subscription has ended")
    assert row["stripe_customer_id"] == customer  # the customer stays for a resubscription

    processed = _events()
    for kind in (
        "customer.subscription.created",
        "invoice.payment_failed",
        "customer.subscription.deleted",
    ):
        assert kind in processed, processed
