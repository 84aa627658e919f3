"""The billing status policy (`billing.plans`) and the pure parts of the Stripe mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from techdocs_app.billing.plans import (
    BillingFacts,
    Capability,
    refusal_message,
    seats_from_metadata,
    standing,
)
from techdocs_app.billing.subscriptions import is_stale, subscription_fields
from techdocs_app.billing.webhooks import references
from techdocs_app.db.models import Organization

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _standing(**facts: object):
    grace = facts.pop("grace_days", 7)
    enabled = facts.pop("billing_enabled", True)
    return standing(
        BillingFacts(**facts),  # type: ignore[arg-type]
        now=NOW,
        billing_enabled=bool(enabled),
        grace_days=float(grace),  # type: ignore[arg-type]
    )


def test_without_stripe_everything_is_unlimited_whatever_is_stored() -> None:
    for sub in (None, "canceled", "past_due"):
        state = _standing(
            subscription_status=sub, trial_ends_at=NOW - timedelta(days=30), billing_enabled=False
        )
        assert state.status == "unlimited"
        assert not state.read_only
        assert all(state.allows(c) for c in Capability)
        assert state.summary == "Unlimited (billing is not set up on this server)"
        assert state.banner(is_owner=True) == ""


def test_trial_counts_days_left_rounded_up_and_warns_three_days_before() -> None:
    state = _standing(trial_ends_at=NOW + timedelta(days=8, hours=1))
    assert (state.status, state.read_only, state.days_left) == ("trialing", False, 9)
    assert state.summary == "Trial: 9 days left"
    assert state.banner(is_owner=True) == ""

    soon = _standing(trial_ends_at=NOW + timedelta(days=2, hours=3))
    assert soon.days_left == 3
    assert soon.banner(is_owner=True) == "The trial ends in 3 days. Subscribe on the Billing page."
    assert "Ask the shop's owner" in soon.banner(is_owner=False)

    last = _standing(trial_ends_at=NOW + timedelta(hours=5))
    assert last.summary == "Trial: 1 day left"


def test_trial_over_is_read_only_with_a_message_naming_who_can_fix_it() -> None:
    state = _standing(trial_ends_at=NOW - timedelta(seconds=1))
    assert (state.status, state.read_only, state.reason) == ("trialing", True, "trial_ended")
    assert not state.allows(Capability.ASK)
    assert not state.allows(Capability.UPLOAD)
    assert state.summary == "Read-only: the trial has ended"
    member = refusal_message(state, is_owner=False)
    assert member.startswith("Your trial has ended: the shop is read-only.")
    assert "Ask the owner to subscribe on the Billing page." in member
    assert "Subscribe on the Billing page" in refusal_message(state, is_owner=True)
    assert state.banner(is_owner=False) == member


def test_an_organization_without_a_trial_end_is_not_locked_out() -> None:
    state = _standing()
    assert (state.status, state.read_only) == ("trialing", False)
    assert state.summary == "Trial"


@pytest.mark.parametrize("stripe_status", ["active", "trialing"])
def test_active_subscription_allows_everything_even_after_the_trial(stripe_status: str) -> None:
    end = NOW + timedelta(days=20)
    state = _standing(
        subscription_status=stripe_status,
        trial_ends_at=NOW - timedelta(days=40),
        current_period_end=end,
    )
    assert (state.status, state.read_only, state.renews, state.ends_at) == (
        "active",
        False,
        True,
        end,
    )
    assert state.summary == "Active"
    assert state.banner(is_owner=True) == ""


def test_active_but_set_to_cancel_says_until_when() -> None:
    end = datetime(2026, 12, 20, tzinfo=UTC)
    state = _standing(subscription_status="active", current_period_end=end, cancel_at=end)
    assert not state.renews
    assert state.summary == "Active until December 20, 2026 (canceled)"
    assert not state.read_only


def test_past_due_keeps_working_for_the_grace_period_then_turns_read_only() -> None:
    inside = _standing(subscription_status="past_due", past_due_since=NOW - timedelta(days=2))
    assert (inside.status, inside.read_only, inside.days_left) == ("past_due", False, 5)
    assert inside.summary == "Payment overdue: 5 days of grace left"
    assert "Update the payment method" in inside.banner(is_owner=True)
    assert "Asking and uploading stop in 5 days" in inside.banner(is_owner=False)

    over = _standing(subscription_status="past_due", past_due_since=NOW - timedelta(days=7))
    assert (over.status, over.read_only, over.reason) == ("past_due", True, "past_due")
    assert over.summary == "Read-only: payment is overdue"
    assert "Update the payment method" in refusal_message(over, is_owner=True)

    short = _standing(
        subscription_status="unpaid", past_due_since=NOW - timedelta(days=2), grace_days=1
    )
    assert short.read_only


def test_past_due_without_a_start_counts_from_now() -> None:
    state = _standing(subscription_status="past_due")
    assert not state.read_only
    assert state.days_left == 7


@pytest.mark.parametrize("stripe_status", ["canceled", "incomplete_expired"])
def test_canceled_is_read_only(stripe_status: str) -> None:
    state = _standing(subscription_status=stripe_status, trial_ends_at=NOW + timedelta(days=3))
    assert (state.status, state.read_only, state.reason) == ("canceled", True, "canceled")
    assert state.summary == "Read-only: the subscription has ended"
    assert refusal_message(state, is_owner=False).startswith(
        "The subscription has ended: the shop is read-only."
    )


def test_an_incomplete_first_payment_leaves_the_trial_in_charge() -> None:
    state = _standing(subscription_status="incomplete", trial_ends_at=NOW + timedelta(days=1))
    assert (state.status, state.read_only) == ("trialing", False)


def test_seats_come_from_the_price_metadata_with_a_default() -> None:
    assert seats_from_metadata({"seats": "3"}, 5) == 3
    assert seats_from_metadata({"seats": 4}, 5) == 4
    assert seats_from_metadata({}, 5) == 5
    assert seats_from_metadata(None, 5) == 5
    assert seats_from_metadata({"seats": "three"}, 5) == 5
    assert seats_from_metadata({"seats": "0"}, 5) == 5
    assert seats_from_metadata({"seats": "-2"}, 5) == 5


def _sub(**extra: object) -> dict[str, object]:
    sub: dict[str, object] = {
        "id": "sub_1",
        "object": "subscription",
        "status": "active",
        "created": 1_700_000_000,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "items": {
            "data": [
                {
                    "id": "si_1",
                    "current_period_end": 1_800_000_000,
                    "price": {"id": "price_1", "metadata": {"seats": "3"}},
                }
            ]
        },
    }
    sub.update(extra)
    return sub


def test_subscription_fields_read_the_new_and_the_legacy_shapes() -> None:
    fields = subscription_fields(_sub(), now=NOW)
    assert fields["subscription_status"] == "active"
    assert fields["stripe_price_id"] == "price_1"
    assert fields["seat_limit"] == 3
    assert fields["current_period_end"] == datetime.fromtimestamp(1_800_000_000, UTC)
    assert fields["cancel_at"] is None
    assert fields["plan"] == "paid"

    legacy = {
        "id": "sub_2",
        "status": "past_due",
        "current_period_end": 1_900_000_000,
        "cancel_at_period_end": True,
        "items": {"data": [{"plan": {"id": "plan_x", "metadata": {}}}]},
    }
    fields = subscription_fields(legacy, now=NOW)
    assert fields["stripe_price_id"] == "plan_x"
    assert fields["seat_limit"] == 5
    assert fields["cancel_at"] == datetime.fromtimestamp(1_900_000_000, UTC)

    ended = subscription_fields(_sub(status="canceled", cancel_at=1_750_000_000), now=NOW)
    assert ended["cancel_at"] is None
    assert ended["plan"] == "trial"


def test_a_late_end_of_an_old_subscription_does_not_replace_a_live_new_one() -> None:
    org = Organization(name="Shop", stripe_subscription_id="sub_new", subscription_status="active")
    assert is_stale(org, _sub(id="sub_old", status="canceled"))
    assert not is_stale(org, _sub(id="sub_new", status="canceled"))
    assert not is_stale(org, _sub(id="sub_other", status="active"))
    lapsed = Organization(
        name="Shop", stripe_subscription_id="sub_a", subscription_status="canceled"
    )
    assert not is_stale(lapsed, _sub(id="sub_b", status="canceled"))


def test_events_name_their_customer_subscription_and_organization() -> None:
    assert references("customer.subscription.updated", {"id": "sub_1", "customer": "cus_1"}) == (
        "cus_1",
        "sub_1",
        None,
    )
    assert references(
        "checkout.session.completed",
        {"customer": "cus_1", "subscription": "sub_1", "client_reference_id": "42"},
    ) == ("cus_1", "sub_1", 42)
    assert references(
        "checkout.session.completed", {"customer": "cus_1", "client_reference_id": "x; drop"}
    ) == ("cus_1", None, None)
    assert references("invoice.paid", {"customer": "cus_1", "subscription": "sub_1"}) == (
        "cus_1",
        "sub_1",
        None,
    )
    new_shape = {
        "customer": {"id": "cus_1"},
        "parent": {"subscription_details": {"subscription": "sub_9"}},
    }
    assert references("invoice.payment_failed", new_shape) == ("cus_1", "sub_9", None)
