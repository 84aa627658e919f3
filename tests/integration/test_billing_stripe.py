"""Billing against the Stripe wire fake (`tests/fakes/stripe_wire.py`) with the real SDK:
Checkout and Customer Portal sessions, Stripe outages, webhooks (good and bad), and the
service-layer gating of asking and uploading (in Python and over the REST API)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import fitz
import httpx
import pytest
from sqlalchemy import text, update
from starlette.testclient import TestClient

from tests.conftest import _reset_settings_caches
from tests.fakes.server import serve_in_thread
from tests.fakes.stripe_wire import PRICE_ID, FakeStripe, event_body, running_fake_stripe, sign

pytestmark = pytest.mark.integration

SECRET = "whsec_test_billing_secret"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with running_fake_stripe() as fake:
        fake.add_price(seats="3")
        yield fake


@pytest.fixture
def stripe_on(
    db: dict[str, str], fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeStripe]:
    """Billing switched on, the SDK pointed at the wire fake."""
    from techdocs_app.billing import stripe_api

    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_billing")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STRIPE_PRICE_ID", PRICE_ID)
    monkeypatch.setenv("STRIPE_BASE_URL", fake_stripe.url)
    monkeypatch.setenv("STRIPE_TIMEOUT_S", "1.5")
    monkeypatch.setenv("APP_URL", "http://127.0.0.1:3999")
    _reset_settings_caches()
    stripe_api.forget_cached_prices()
    yield fake_stripe
    monkeypatch.undo()
    _reset_settings_caches()
    stripe_api.forget_cached_prices()


@pytest.fixture
def app_url(db: dict[str, str]) -> Iterator[str]:
    """The app's HTTP routes (webhooks, REST) served by uvicorn on a free port."""
    from techdocs_app import cache, jobs
    from techdocs_app.api import api

    cache.reset_redis()
    jobs.reset_jobs()
    with serve_in_thread(api, name="techdocs-api") as url:
        yield url


def _org_row(org_id: int) -> dict[str, Any]:
    from techdocs_app.db.engine import system_session_scope

    with system_session_scope() as session:
        return dict(
            session.connection()
            .execute(text("SELECT * FROM organizations WHERE id = :id"), {"id": org_id})
            .mappings()
            .one()
        )


def _set_org(org_id: int, **values: Any) -> None:
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Organization

    with system_session_scope() as session:
        session.execute(update(Organization).where(Organization.id == org_id).values(**values))  # type: ignore[arg-type]


def _webhook_rows() -> int:
    from techdocs_app.db.engine import system_session_scope

    with system_session_scope() as session:
        return int(
            session.connection().execute(text("SELECT count(*) FROM webhook_events")).scalar_one()
        )


# --- Checkout and the Customer Portal ----------------------------------------------------------


def test_checkout_creates_the_customer_once_and_a_subscription_session(
    stripe_on: FakeStripe, make_org: Callable
) -> None:
    from techdocs_app.billing import subscriptions

    owner = make_org("Checkout Shop")
    url = subscriptions.start_checkout(owner, now=1_000_000.0)
    assert url.startswith(f"{stripe_on.url}/pay/cs_test_")
    (created,) = stripe_on.state.requests_to("customers")
    assert created.form["metadata[org_id]"] == str(owner.org_id)
    assert created.headers["idempotency-key"] == f"techdocs-customer-org-{owner.org_id}"
    customer = _org_row(owner.org_id)["stripe_customer_id"]
    assert customer and customer.startswith("cus_")

    (session,) = stripe_on.state.requests_to("checkout.sessions")
    form = session.form
    assert form["mode"] == "subscription"
    assert form["customer"] == customer
    assert form["client_reference_id"] == str(owner.org_id)
    assert form["line_items[0][price]"] == PRICE_ID
    assert form["line_items[0][quantity]"] == "1"
    assert form["success_url"] == "http://127.0.0.1:3999/billing?checkout=success"
    assert form["cancel_url"] == "http://127.0.0.1:3999/billing?checkout=cancel"
    key = session.headers["idempotency-key"]
    assert key.startswith(f"techdocs-checkout-{owner.org_id}-{customer}-{PRICE_ID}-")

    # A second click in the same window: the customer is reused, the same session comes back.
    again = subscriptions.start_checkout(owner, now=1_000_010.0)
    assert again == url
    assert len(stripe_on.state.requests_to("customers")) == 1
    assert stripe_on.state.requests_to("checkout.sessions")[1].headers["idempotency-key"] == key


def test_only_owners_subscribe_and_manage(stripe_on: FakeStripe, make_org: Callable) -> None:
    from techdocs_app.auth import Principal
    from techdocs_app.billing import subscriptions
    from techdocs_app.errors import PermissionDenied, ValidationFailed

    owner = make_org("Roles Shop")
    for role in ("admin", "member"):
        other = Principal(
            user_id=owner.user_id,
            org_id=owner.org_id,
            role=role,
            email=owner.email,
            org_name=owner.org_name,
        )
        with pytest.raises(PermissionDenied):
            subscriptions.start_checkout(other)
        with pytest.raises(PermissionDenied):
            subscriptions.open_portal(other)
    with pytest.raises(ValidationFailed, match="Subscribe first"):
        subscriptions.open_portal(owner)
    assert stripe_on.state.requests == []


def test_the_portal_session_returns_to_the_billing_page(
    stripe_on: FakeStripe, make_org: Callable
) -> None:
    from techdocs_app.billing import subscriptions

    owner = make_org("Portal Shop")
    subscriptions.start_checkout(owner)
    url = subscriptions.open_portal(owner)
    assert url.startswith(f"{stripe_on.url}/portal/bps_")
    (portal,) = stripe_on.state.requests_to("billing_portal.sessions")
    assert portal.form["customer"] == _org_row(owner.org_id)["stripe_customer_id"]
    assert portal.form["return_url"] == "http://127.0.0.1:3999/billing"


@pytest.mark.parametrize("failure", ["timeout", "500", "503"])
def test_a_stripe_outage_says_so_and_changes_nothing(
    stripe_on: FakeStripe, make_org: Callable, failure: str
) -> None:
    from techdocs_app.billing import subscriptions
    from techdocs_app.billing.stripe_api import UNAVAILABLE, StripeUnavailable

    owner = make_org("Outage Shop")
    before = _org_row(owner.org_id)
    if failure == "timeout":
        stripe_on.state.delay_s["customers"] = 3.0
    else:
        stripe_on.state.fail_next("customers", int(failure))
    with pytest.raises(StripeUnavailable) as caught:
        subscriptions.start_checkout(owner)
    assert caught.value.user_message == UNAVAILABLE
    assert _org_row(owner.org_id) == before

    # The customer exists, Checkout itself fails: still nothing but the customer is stored.
    stripe_on.state.delay_s.clear()
    stripe_on.state.fail_next("checkout.sessions", 503)
    with pytest.raises(StripeUnavailable):
        subscriptions.start_checkout(owner)
    after = _org_row(owner.org_id)
    assert after["subscription_status"] is None and after["stripe_subscription_id"] is None


# --- webhooks ----------------------------------------------------------------------------------


def _subscribed(stripe_on: FakeStripe, owner: Any) -> dict[str, Any]:
    from techdocs_app.billing import subscriptions

    url = subscriptions.start_checkout(owner)
    session_id = url.rsplit("/", 1)[-1]
    return stripe_on.complete_checkout(session_id)


def test_checkout_completed_webhook_activates_the_shop_with_the_plans_seats(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    from techdocs_app.billing.access import standing_for

    owner = make_org("Webhook Shop")
    assert standing_for(owner).status == "trialing"
    session = _subscribed(stripe_on, owner)
    hook = f"{app_url}/api/webhooks/stripe"
    response = stripe_on.send(hook, SECRET, "checkout.session.completed", session)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    row = _org_row(owner.org_id)
    assert row["subscription_status"] == "active"
    assert row["stripe_subscription_id"] == session["subscription"]
    assert row["stripe_price_id"] == PRICE_ID
    assert row["seat_limit"] == 3
    assert row["current_period_end"] is not None
    state = standing_for(owner)
    assert (state.status, state.read_only, state.summary) == ("active", False, "Active")


def test_events_out_of_order_leave_the_newest_state(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    owner = make_org("Order Shop")
    session = _subscribed(stripe_on, owner)
    sub_id = session["subscription"]
    hook = f"{app_url}/api/webhooks/stripe"
    stale_snapshot = dict(stripe_on.state.subscriptions[sub_id])
    # Stripe's newest state: canceled. Its `deleted` event arrives first...
    stripe_on.state.subscriptions[sub_id]["status"] = "canceled"
    deleted = stripe_on.send(
        hook, SECRET, "customer.subscription.deleted", stripe_on.state.subscriptions[sub_id]
    )
    assert deleted.json()["status"] == "applied"
    # ...then the older `created` event, whose snapshot still says active: the handler re-reads
    # the subscription from Stripe, so the shop stays canceled.
    late = stripe_on.send(hook, SECRET, "customer.subscription.created", stale_snapshot)
    assert late.status_code == 200
    assert _org_row(owner.org_id)["subscription_status"] == "canceled"

    # A resubscription, then a late `deleted` of the old subscription: the new one stays.
    new_sub = stripe_on.subscription_for(session["customer"], PRICE_ID)
    assert (
        stripe_on.send(
            hook, SECRET, "customer.subscription.created", stripe_on.state.subscriptions[new_sub]
        ).json()["status"]
        == "applied"
    )
    old = stripe_on.send(
        hook, SECRET, "customer.subscription.deleted", stripe_on.state.subscriptions[sub_id]
    )
    assert old.json() == {"status": "ignored", "reason": "stale"}
    row = _org_row(owner.org_id)
    assert (row["stripe_subscription_id"], row["subscription_status"]) == (new_sub, "active")


def test_payment_failure_starts_the_grace_period_and_payment_ends_it(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    from techdocs_app.billing.access import standing_for

    owner = make_org("Dunning Shop")
    session = _subscribed(stripe_on, owner)
    sub_id = session["subscription"]
    hook = f"{app_url}/api/webhooks/stripe"
    invoice = {"id": "in_1", "object": "invoice", "customer": session["customer"]}
    invoice["parent"] = {"subscription_details": {"subscription": sub_id}}
    stripe_on.state.subscriptions[sub_id]["status"] = "past_due"
    assert stripe_on.send(hook, SECRET, "invoice.payment_failed", invoice).status_code == 200
    row = _org_row(owner.org_id)
    assert row["subscription_status"] == "past_due" and row["past_due_since"] is not None
    state = standing_for(owner)
    assert (state.status, state.read_only, state.days_left) == ("past_due", False, 7)

    stripe_on.state.subscriptions[sub_id]["status"] = "active"
    assert stripe_on.send(hook, SECRET, "invoice.paid", invoice).status_code == 200
    row = _org_row(owner.org_id)
    assert row["subscription_status"] == "active" and row["past_due_since"] is None


def _post(app_url: str, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return httpx.post(f"{app_url}/api/webhooks/stripe", content=body, headers=headers, timeout=30)


def test_bad_webhooks_get_the_right_status_and_change_nothing(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    owner = make_org("Guarded Shop")
    session = _subscribed(stripe_on, owner)
    before = _org_row(owner.org_id)
    body = event_body("checkout.session.completed", session, event_id="evt_bad_1")

    # bad signature (wrong secret), tampered body, no signature, old timestamp
    assert _post(app_url, body, sign(body, "whsec_wrong")).status_code == 400
    assert _post(app_url, body.replace(b"complete", b"open"), sign(body, SECRET)).status_code == 400
    assert _post(app_url, body, None).status_code == 400
    old = sign(body, SECRET, timestamp=int(__import__("time").time()) - 600)
    assert _post(app_url, body, old).status_code == 400
    # unknown event type: acknowledged, ignored
    other = event_body("charge.refunded", {"id": "ch_1", "customer": session["customer"]})
    response = _post(app_url, other, sign(other, SECRET))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    # an event for a customer we do not know: acknowledged, ignored, nothing recorded
    stranger = dict(session, customer="cus_not_ours", client_reference_id=None)
    strange = event_body("checkout.session.completed", stranger, event_id="evt_stranger")
    response = _post(app_url, strange, sign(strange, SECRET))
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "unknown customer"}
    # not JSON at all, correctly signed
    junk = b"not json"
    assert _post(app_url, junk, sign(junk, SECRET)).status_code == 400
    assert _org_row(owner.org_id) == before
    assert _webhook_rows() == 0

    # replay: the first delivery applies, the same event id again changes nothing
    good = _post(app_url, body, sign(body, SECRET))
    assert good.json()["status"] == "applied"
    applied = _org_row(owner.org_id)
    stripe_on.state.subscriptions[session["subscription"]]["status"] = "canceled"
    again = _post(app_url, body, sign(body, SECRET))
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert _org_row(owner.org_id) == applied
    assert _webhook_rows() == 1


def test_stripe_down_while_handling_a_webhook_answers_503_so_stripe_retries(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    owner = make_org("Retry Shop")
    session = _subscribed(stripe_on, owner)
    before = _org_row(owner.org_id)
    body = event_body("checkout.session.completed", session, event_id="evt_retry")
    stripe_on.state.fail_next("subscriptions.retrieve", 503)
    assert _post(app_url, body, sign(body, SECRET)).status_code == 503
    assert _org_row(owner.org_id) == before
    assert _webhook_rows() == 0
    assert _post(app_url, body, sign(body, SECRET)).json()["status"] == "applied"


def test_without_a_webhook_secret_the_route_is_not_there(app_url: str) -> None:
    body = b"{}"
    assert _post(app_url, body, sign(body, SECRET)).status_code == 404


# --- gating: read-only refuses asking and uploading, in the service layer ----------------------


def _pdf() -> bytes:
    doc = fitz.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Torque for the drain plug: 25 N·m.")
    data: bytes = doc.tobytes()
    doc.close()
    return data


def _read_only(org_id: int, why: str) -> None:
    from techdocs_app.db.models import utcnow

    now = utcnow()
    if why == "trial_ended":
        _set_org(org_id, trial_ends_at=now - timedelta(minutes=1))
    elif why == "canceled":
        _set_org(org_id, subscription_status="canceled")
    else:
        _set_org(org_id, subscription_status="past_due", past_due_since=now - timedelta(days=8))


async def _ask(principal: Any, question: str) -> list[Any]:
    from techdocs_app.rag.answer import ask

    return [event async for event in ask(principal, question=question)]


@pytest.mark.parametrize("why", ["trial_ended", "canceled", "past_due"])
def test_read_only_refuses_asking_and_uploading_but_keeps_everything(
    stripe_on: FakeStripe, make_org: Callable, why: str
) -> None:
    import asyncio

    from techdocs_app import conversations, library
    from techdocs_app.errors import ReadOnlyPlan
    from techdocs_app.rag.events import Failed

    owner = make_org(f"Lapsed {why}")
    uploaded = library.upload_document(owner, filename="drain.pdf", data=_pdf())
    _read_only(owner.org_id, why)

    events = asyncio.run(_ask(owner, "What is the drain plug torque?"))
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert "read-only" in events[0].user_message
    with pytest.raises(ReadOnlyPlan) as caught:
        library.check_upload_allowed(owner)
    assert "Billing page" in caught.value.user_message
    with pytest.raises(ReadOnlyPlan):
        library.upload_document(owner, filename="other.pdf", data=_pdf())
    with pytest.raises(ReadOnlyPlan):
        library.reindex_document(owner, document_id=uploaded.document.id)
    # reading stays open; nothing was deleted
    assert [d.filename for d in library.list_documents(owner)] == ["drain.pdf"]
    assert conversations.list_conversations(owner) == []


def test_active_and_past_due_in_grace_may_ask_and_upload(
    stripe_on: FakeStripe, make_org: Callable
) -> None:
    from techdocs_app import library
    from techdocs_app.db.models import utcnow

    owner = make_org("Paying Shop")
    _set_org(owner.org_id, trial_ends_at=utcnow() - timedelta(days=30))
    for status, since in (("active", None), ("past_due", utcnow() - timedelta(days=6))):
        _set_org(owner.org_id, subscription_status=status, past_due_since=since)
        library.check_upload_allowed(owner)
        library.upload_document(owner, filename=f"{status}.pdf", data=_pdf() + status.encode())


def test_read_only_over_the_rest_api(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    from techdocs_app.api_keys import create_api_key

    owner = make_org("Api Shop")
    member_key = create_api_key(owner, name="bay tablet", role="member").secret
    admin_key = create_api_key(owner, name="office", role="admin").secret
    api = f"{app_url}/api/v1"

    def ask(key: str) -> httpx.Response:
        return httpx.post(
            f"{api}/query",
            json={"question": "What is the drain plug torque?"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )

    def upload(key: str) -> httpx.Response:
        return httpx.post(
            f"{api}/documents",
            files={"file": ("drain.pdf", _pdf(), "application/pdf")},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )

    allowed = ask(member_key)
    assert allowed.status_code == 200, allowed.text
    assert upload(admin_key).status_code == 202

    _read_only(owner.org_id, "trial_ended")
    refused = ask(member_key)
    assert refused.status_code == 402, refused.text
    body = refused.json()["error"]
    assert body["code"] == "limit_reached"
    assert body["message"].startswith("Your trial has ended: the shop is read-only.")
    assert "Ask the owner to subscribe on the Billing page." in body["message"]
    # The API's own document says so, for each route a read-only shop is refused on.
    paths = httpx.get(f"{api}/openapi.json", timeout=30).json()["paths"]
    for path in ("/api/v1/query", "/api/v1/query/stream", "/api/v1/documents"):
        assert "402" in paths[path]["post"]["responses"], path
    stream = httpx.post(
        f"{api}/query/stream",
        json={"question": "What is the drain plug torque?"},
        headers={"Authorization": f"Bearer {member_key}"},
        timeout=60,
    )
    assert stream.status_code == 402
    refused_upload = upload(admin_key)
    assert refused_upload.status_code == 402
    assert refused_upload.json()["error"]["code"] == "limit_reached"
    # reading still works
    listed = httpx.get(
        f"{api}/documents", headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    )
    assert listed.status_code == 200 and len(listed.json()["documents"]) == 1
    conversation_id = allowed.json()["conversation_id"]
    opened = httpx.get(
        f"{api}/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {member_key}"},
        timeout=30,
    )
    assert opened.status_code == 200, opened.text


def test_without_stripe_the_shop_is_unlimited_even_after_the_trial(make_org: Callable) -> None:
    from techdocs_app import library
    from techdocs_app.billing.access import standing_for
    from techdocs_app.db.models import utcnow

    owner = make_org("Self Hosted")
    _set_org(owner.org_id, trial_ends_at=utcnow() - timedelta(days=90), subscription_status=None)
    assert standing_for(owner).status == "unlimited"
    library.check_upload_allowed(owner)


def test_lowering_seats_never_removes_anyone_it_only_blocks_invitations(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    from techdocs_app.auth import team
    from techdocs_app.errors import LimitReached

    owner = make_org("Seats Shop")
    for n in range(3):
        team.invite(owner, email=f"tech{n}@seats.example", role="member")
    stripe_on.add_price(PRICE_ID, seats="2")
    session = _subscribed(stripe_on, owner)
    hook = f"{app_url}/api/webhooks/stripe"
    assert stripe_on.send(hook, SECRET, "checkout.session.completed", session).status_code == 200
    assert _org_row(owner.org_id)["seat_limit"] == 2
    view = team.team_overview(owner)
    assert len(view.members) == 1 and len(view.invitations) == 3  # nobody removed
    with pytest.raises(LimitReached):
        team.invite(owner, email="one.more@seats.example", role="member")


def test_the_event_payload_is_not_stored_beyond_its_type(
    stripe_on: FakeStripe, app_url: str, make_org: Callable
) -> None:
    from techdocs_app.db.engine import system_session_scope

    owner = make_org("Quiet Shop")
    session = _subscribed(stripe_on, owner)
    stripe_on.send(f"{app_url}/api/webhooks/stripe", SECRET, "checkout.session.completed", session)
    with system_session_scope() as db_session:
        payload = (
            db_session.connection()
            .execute(text("SELECT provider, event_type, payload FROM webhook_events"))
            .mappings()
            .one()
        )
    assert payload["provider"] == "stripe"
    assert payload["event_type"] == "checkout.session.completed"
    assert "customer" not in json.dumps(payload["payload"])


def test_the_webhook_route_is_mounted_on_the_apps_api(db: dict[str, str]) -> None:
    """The webhook route is mounted on the app's API (in-process client)."""
    from techdocs_app.api import api

    with TestClient(api) as client:
        assert client.post("/api/webhooks/stripe", content=b"{}").status_code == 404


# --- what the Billing page shows ---------------------------------------------------------------


def _as(owner: Any, role: str) -> Any:
    from techdocs_app.auth import Principal

    return Principal(
        user_id=owner.user_id,
        org_id=owner.org_id,
        role=role,
        email=owner.email,
        org_name=owner.org_name,
    )


def test_the_billing_page_shows_owners_everything_and_others_the_status(
    stripe_on: FakeStripe, make_org: Callable
) -> None:
    from techdocs_app.billing.overview import banner_for, banner_text, billing_overview
    from techdocs_app.db.models import utcnow

    owner = make_org("Page Shop")
    _set_org(owner.org_id, trial_ends_at=utcnow() + timedelta(days=8, hours=2))
    view = billing_overview(owner)
    assert view.enabled and view.can_manage and not view.subscribed
    assert (view.status, view.summary) == ("trialing", "Trial: 9 days left")
    assert view.date_label.startswith("Trial ends on ")
    assert view.price_label == "$20.00 / month"
    assert (view.seats_used, view.seat_limit) == (1, 5)
    assert view.problem == ""
    assert banner_text(owner) == ""

    requests_before = len(stripe_on.state.requests)
    for role in ("admin", "member"):
        other = billing_overview(_as(owner, role))
        assert other.summary == "Trial: 9 days left"
        assert not other.can_manage and other.price_label == ""
    assert len(stripe_on.state.requests) == requests_before  # no Stripe call for them

    _set_org(owner.org_id, trial_ends_at=utcnow() + timedelta(days=2))
    assert banner_text(owner) == "The trial ends in 2 days. Subscribe on the Billing page."
    assert "Ask the shop's owner" in banner_text(_as(owner, "member"))
    assert not banner_for(owner).read_only  # the chat still offers Send

    _set_org(owner.org_id, trial_ends_at=utcnow() - timedelta(hours=1))
    ended = banner_for(_as(owner, "member"))
    assert ended.read_only  # the chat disables the box and Send before anyone types
    assert "read-only" in ended.text


def test_a_stripe_outage_on_the_billing_page_says_so(
    stripe_on: FakeStripe, make_org: Callable
) -> None:
    from techdocs_app.billing.overview import billing_overview
    from techdocs_app.billing.stripe_api import UNAVAILABLE

    owner = make_org("Down Shop")
    stripe_on.state.delay_s["prices.retrieve"] = 3.0
    view = billing_overview(owner)
    assert view.problem == UNAVAILABLE
    assert view.price_label == ""
    assert view.summary.startswith("Trial")


def test_back_from_checkout_the_page_reads_the_subscription_before_the_webhook(
    stripe_on: FakeStripe, make_org: Callable
) -> None:
    from techdocs_app.billing import subscriptions
    from techdocs_app.billing.overview import billing_overview
    from techdocs_app.errors import ValidationFailed

    owner = make_org("Return Shop")
    _subscribed(stripe_on, owner)  # paid at Checkout; no webhook yet
    assert _org_row(owner.org_id)["subscription_status"] is None
    assert subscriptions.refresh_from_stripe(owner.org_id) == "active"
    view = billing_overview(owner)
    assert (view.summary, view.subscribed) == ("Active", True)
    assert view.date_label.startswith("Renews on ")
    with pytest.raises(ValidationFailed, match="already has a subscription"):
        subscriptions.start_checkout(owner)


def test_without_stripe_the_page_says_billing_is_not_set_up(make_org: Callable) -> None:
    from techdocs_app.billing import subscriptions
    from techdocs_app.billing.overview import banner_for, banner_text, billing_overview
    from techdocs_app.errors import ValidationFailed

    owner = make_org("Plain Shop")
    view = billing_overview(owner)
    assert not view.enabled
    assert view.summary == "Unlimited (billing is not set up on this server)"
    assert view.date_label == "" and view.price_label == ""
    assert banner_text(owner) == "" and not banner_for(owner).read_only
    with pytest.raises(ValidationFailed, match="not set up"):
        subscriptions.start_checkout(owner)
