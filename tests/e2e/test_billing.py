"""Billing in the browser: trial → Subscribe (the Checkout redirect is intercepted) → the
webhook arrives → Active; then the subscription is canceled → read-only: a question from a chat that
was already open is refused by the server, a chat opened afresh disables the box and Send under the
banner, and past conversations still open. Screenshots at 1024×768 and 390×844."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from tests.e2e.accounts import PASSWORD, sign_up_owner
from tests.e2e.conftest import STRIPE_WEBHOOK_SECRET
from tests.fakes.stripe_wire import FakeStripe

pytestmark = pytest.mark.e2e

QUESTION = "What is the head bolt torque?"


def _org(name: str) -> dict[str, Any]:
    from sqlalchemy import text

    from techdocs_app.db.engine import system_session_scope

    with system_session_scope() as session:
        return dict(
            session.connection()
            .execute(text("SELECT * FROM organizations WHERE name = :n"), {"n": name})
            .mappings()
            .one()
        )


def _trial_ends_in(org_id: int, delta: timedelta) -> None:
    from sqlalchemy import text

    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import utcnow

    with system_session_scope() as session:
        session.connection().execute(
            text("UPDATE organizations SET trial_ends_at = :t WHERE id = :id"),
            {"t": utcnow() + delta, "id": org_id},
        )


def _shoot(page: Page, screenshot_dir: Path, name: str) -> None:
    """The page at 1024×768 and at 390×844 (then back to 1024×768)."""
    for size in ((1024, 768), (390, 844)):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.wait_for_timeout(300)
        page.screenshot(path=str(screenshot_dir / f"{name}-{size[0]}x{size[1]}.png"))
    page.set_viewport_size({"width": 1024, "height": 768})


def _ask(page: Page, question: str) -> None:
    box = page.get_by_placeholder("Ask about your manuals")
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_enabled()
    box.fill(question)
    send.click()


def _add_technician(org_id: int, email: str) -> None:
    """A member of the shop with a password (as the invitation flow would leave them)."""
    from techdocs_app.auth.local import hash_password
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Membership, User

    with system_session_scope() as session:
        user = User(email=email, password_hash=hash_password(PASSWORD), name="Tech")
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(Membership(org_id=org_id, user_id=user.id, role="member"))


def test_trial_subscribe_webhook_active_then_cancel_read_only(
    page: Page,
    new_page: Callable[[str], Page],
    app_url: str,
    fake_stripe: FakeStripe,
    screenshot_dir: Path,
) -> None:
    org_name = f"Ridgeline HVAC {uuid.uuid4().hex[:8]}"
    email = f"owner-{uuid.uuid4().hex[:8]}@ridgeline.example"
    sign_up_owner(page, app_url, org_name, email)

    # A question while trialing: it is answered (nothing in the library yet) and saved.
    _ask(page, QUESTION)
    expect(page.locator(".td-turn-user")).to_have_text([QUESTION])
    expect(page.locator(".td-answer:not(.td-answer-streaming)")).to_have_count(1, timeout=60_000)
    expect(page.locator(".td-answer-failed")).to_have_count(0)

    # Two days of trial left: the banner says so, with a link to Billing for the owner.
    org = _org(org_name)
    _trial_ends_in(org["id"], timedelta(days=1, hours=20))
    page.reload()
    banner = page.locator("#billing-banner")
    expect(banner).to_contain_text("The trial ends in 2 days. Subscribe on the Billing page.")
    banner.get_by_role("link", name="Open Billing").click()
    expect(page).to_have_url(re.compile(re.escape(app_url) + r"/billing/?$"))
    expect(page.locator("#billing-status")).to_have_text("Trial: 2 days left")
    expect(page.locator("#billing-date")).to_contain_text("Trial ends on")
    expect(page.locator("#billing-price")).to_have_text("$20.00 / month")
    expect(page.locator("#billing-seats")).to_have_text("1 of 5 seats used")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Billing")).to_have_attribute("aria-current", "page")
    # The same frame as every signed-in page: the owner's restricted links are there too.
    expect(nav.get_by_role("link", name="Usage")).to_be_visible()
    _shoot(page, screenshot_dir, "billing-trial")

    # Subscribe: the app sends the browser to Checkout; the test intercepts that redirect.
    checkout_urls: list[str] = []

    def at_checkout(route: Route) -> None:
        checkout_urls.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Stripe Checkout</h1>")

    page.route(re.compile(re.escape(fake_stripe.url) + r"/pay/.*"), at_checkout)
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
    assert len(checkout_urls) == 1
    session_id = checkout_urls[0].rsplit("/", 1)[-1]
    created = fake_stripe.state.requests_to("checkout.sessions")[-1]
    assert created.form["client_reference_id"] == str(org["id"])
    assert created.form["success_url"] == f"{app_url}/billing?checkout=success"

    # The customer pays; Stripe sends the signed webhook to the app: the shop is active.
    session = fake_stripe.complete_checkout(session_id)
    hook = f"{app_url}/api/webhooks/stripe"
    delivered = fake_stripe.send(hook, STRIPE_WEBHOOK_SECRET, "checkout.session.completed", session)
    assert delivered.status_code == 200 and delivered.json()["status"] == "applied"
    assert _org(org_name)["subscription_status"] == "active"

    # Back from Checkout.
    page.goto(app_url + "/billing?checkout=success")
    expect(page.locator("#billing-note")).to_have_text("Thank you! The subscription is active.")
    expect(page.locator("#billing-status")).to_have_text("Active")
    expect(page.locator("#billing-date")).to_contain_text("Renews on")
    expect(page.get_by_role("button", name="Manage billing")).to_be_visible()
    expect(page.locator("#billing-banner")).to_have_count(0)
    _shoot(page, screenshot_dir, "billing-active")

    # The chat is open while the subscription is canceled (Customer Portal): Stripe says so by
    # webhook → read-only. The open page still offers Send; the server refuses the question.
    page.goto(app_url + "/")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    sub_id = session["subscription"]
    fake_stripe.state.subscriptions[sub_id].update(status="canceled", ended_at=int(time.time()))
    ended = fake_stripe.send(
        hook,
        STRIPE_WEBHOOK_SECRET,
        "customer.subscription.deleted",
        fake_stripe.state.subscriptions[sub_id],
    )
    assert ended.status_code == 200 and ended.json()["status"] == "applied"

    _ask(page, "And the torque for the manifold bolts?")
    refused = page.locator(".td-answer-failed")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("read-only")
    expect(refused).to_contain_text("Subscribe on the Billing page")
    # The refusal brings the banner and disables Send at once, without a reload.
    expect(page.locator("#billing-banner")).to_contain_text("read-only")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()

    # Opened afresh, the chat says so before anyone types: the box and Send are disabled.
    page.goto(app_url + "/")
    banner = page.locator("#billing-banner")
    expect(banner).to_contain_text("The subscription has ended: the shop is read-only.")
    expect(banner.get_by_role("link", name="Open Billing")).to_be_visible()
    paused = page.get_by_placeholder("Asking is paused: see the banner above")
    expect(paused).to_be_disabled()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    _shoot(page, screenshot_dir, "billing-read-only-chat")

    # Past conversations still open: nothing was deleted (the refused question saved nothing).
    page.get_by_role("button", name="History").click()
    history = page.get_by_role("dialog")
    expect(history.locator(".td-conv-open")).to_have_count(1)
    history.locator(".td-conv-open").filter(has_text="head bolt").click()
    expect(page.locator(".td-turn-user")).to_have_text([QUESTION])
    expect(page.locator(".td-answer")).to_have_count(1)

    # The Billing page offers to subscribe again.
    page.goto(app_url + "/billing")
    expect(page.locator("#billing-status")).to_have_text("Read-only: the subscription has ended")
    expect(page.get_by_role("button", name="Subscribe")).to_be_visible()
    _shoot(page, screenshot_dir, "billing-canceled")

    # A technician sees the status only, and is told to ask the owner.
    tech_email = f"tech-{uuid.uuid4().hex[:8]}@ridgeline.example"
    _add_technician(org["id"], tech_email)
    tech = new_page("390x844")
    tech.goto(app_url + "/signin")
    tech.get_by_label("Email", exact=True).fill(tech_email)
    tech.get_by_label("Password", exact=True).fill(PASSWORD)
    tech.get_by_role("button", name="Sign in").click()
    tech_banner = tech.locator("#billing-banner")
    expect(tech_banner).to_contain_text("Ask the owner to subscribe on the Billing page.")
    expect(tech_banner.get_by_role("link", name="Open Billing")).to_have_count(0)
    expect(tech.get_by_role("button", name="Send")).to_be_disabled()
    tech.goto(app_url + "/billing")
    expect(tech.locator("#billing-status")).to_have_text("Read-only: the subscription has ended")
    expect(tech.locator("#billing-date")).to_have_text(f"Ended on {datetime.now(UTC):%B %-d, %Y}")
    expect(tech.locator("#billing-read-only-note")).to_be_visible()
    expect(tech.get_by_role("button", name="Subscribe")).to_have_count(0)
    tech.screenshot(path=str(screenshot_dir / "billing-member-390x844.png"))
