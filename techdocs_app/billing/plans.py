"""An organization's billing standing, derived in one place (no database, no Stripe: unit-tested).

`standing(facts, now=..., billing_enabled=..., grace_days=...)` turns what we store about an
organization (Stripe's subscription status, the trial's end, when payment became overdue, the paid
period's end) into one of five statuses and what that status allows:

| status    | when                                                   | ask / upload                  |
|-----------|--------------------------------------------------------|-------------------------------|
| unlimited | no STRIPE_SECRET_KEY (the embedded, self-hosted default) | yes                         |
| trialing  | no live subscription, trial not over (14 days)         | yes; read-only once it ends   |
| active    | Stripe says active (or trialing on Stripe's side)      | yes                           |
| past_due  | Stripe says past_due / unpaid                          | yes for the grace period (7 d)|
| canceled  | the subscription ended                                 | no (read-only)                |

Read-only never deletes anything: reading past conversations, opening pages and the library stay
open; only new questions and uploads (and re-indexing) are refused, with a message that says who
can fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

Status = Literal["unlimited", "trialing", "active", "past_due", "canceled"]

LIVE_STRIPE_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid"})
"""Stripe statuses of a subscription that still belongs to the shop (paid, or being dunned)."""
ENDED_STRIPE_STATUSES = frozenset({"canceled", "incomplete_expired"})

TRIAL_WARNING_DAYS = 3
"""The app-wide banner warns this many days before the trial ends."""


class Capability(StrEnum):
    """What a read-only shop may no longer do (everything else stays open)."""

    ASK = "ask"
    UPLOAD = "upload"
    REINDEX = "reindex"


@dataclass(frozen=True)
class BillingFacts:
    """What we store about an organization's subscription (columns of `organizations`)."""

    subscription_status: str | None = None
    """Stripe's status of the organization's subscription (None: never subscribed)."""
    trial_ends_at: datetime | None = None
    past_due_since: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at: datetime | None = None
    """A subscription set to end (Customer Portal "cancel"): when it ends."""


@dataclass(frozen=True)
class Standing:
    status: Status
    read_only: bool
    reason: str
    """Why read-only: "trial_ended", "canceled", "past_due" (grace over); "" when not."""
    days_left: int | None = None
    """Trial: whole days left (rounded up); past_due: days of grace left."""
    ends_at: datetime | None = None
    """When the trial or grace period ends, the paid period renews, or a cancellation happens."""
    renews: bool = False
    """`ends_at` is a renewal (active, not set to cancel)."""

    def allows(self, capability: Capability) -> bool:  # noqa: ARG002 - one rule for all, for now
        return not self.read_only

    @property
    def summary(self) -> str:
        """The status in words: "Trial: 9 days left", "Active", "Read-only: the trial has ended"."""
        if self.status == "unlimited":
            return "Unlimited (billing is not set up on this server)"
        if self.read_only:
            return {
                "trial_ended": "Read-only: the trial has ended",
                "canceled": "Read-only: the subscription has ended",
                "past_due": "Read-only: payment is overdue",
            }[self.reason]
        if self.status == "trialing":
            if self.days_left is None:
                return "Trial"
            return f"Trial: {_days(self.days_left)} left"
        if self.status == "past_due":
            return f"Payment overdue: {_days(self.days_left or 0)} of grace left"
        if self.ends_at is not None and not self.renews:
            return f"Active until {self.ends_at:%B %-d, %Y} (canceled)"
        return "Active"

    def banner(self, *, is_owner: bool) -> str:
        """The app-wide banner's text ("" for none): trial ending soon, past due, read-only."""
        fix = (
            "Subscribe on the Billing page."
            if is_owner
            else "Ask the shop's owner to subscribe on the Billing page."
        )
        if self.read_only:
            return f"{refusal_message(self, is_owner=is_owner)}"
        if self.status == "past_due":
            pay = (
                "Update the payment method on the Billing page."
                if is_owner
                else "Ask the shop's owner to update the payment method on the Billing page."
            )
            return (
                f"The last payment failed. Asking and uploading stop in "
                f"{_days(self.days_left or 0)}. {pay}"
            )
        if (
            self.status == "trialing"
            and self.days_left is not None
            and self.days_left <= TRIAL_WARNING_DAYS
        ):
            return f"The trial ends in {_days(self.days_left)}. {fix}"
        return ""


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _days_until(when: datetime, now: datetime) -> int:
    """Whole days until `when`, rounded up (0 once it has passed)."""
    seconds = (when - now).total_seconds()
    if seconds <= 0:
        return 0
    return int(-(-seconds // 86400))


def standing(
    facts: BillingFacts,
    *,
    now: datetime,
    billing_enabled: bool,
    grace_days: float = 7,
) -> Standing:
    """The organization's status and whether it is read-only (see the table at the top)."""
    if not billing_enabled:
        return Standing(status="unlimited", read_only=False, reason="")
    sub = (facts.subscription_status or "").strip()
    if sub in ("active", "trialing"):
        ends = facts.cancel_at or facts.current_period_end
        return Standing(
            status="active",
            read_only=False,
            reason="",
            ends_at=ends,
            renews=facts.cancel_at is None,
        )
    if sub in ("past_due", "unpaid"):
        since = facts.past_due_since or now
        grace_end = since + timedelta(days=grace_days)
        if now >= grace_end:
            return Standing(status="past_due", read_only=True, reason="past_due", ends_at=grace_end)
        return Standing(
            status="past_due",
            read_only=False,
            reason="",
            days_left=_days_until(grace_end, now),
            ends_at=grace_end,
        )
    if sub in ENDED_STRIPE_STATUSES:
        return Standing(
            status="canceled", read_only=True, reason="canceled", ends_at=facts.current_period_end
        )
    # Never subscribed (or a first payment still incomplete): the trial decides.
    if facts.trial_ends_at is None:
        return Standing(status="trialing", read_only=False, reason="")
    if now >= facts.trial_ends_at:
        return Standing(
            status="trialing",
            read_only=True,
            reason="trial_ended",
            days_left=0,
            ends_at=facts.trial_ends_at,
        )
    return Standing(
        status="trialing",
        read_only=False,
        reason="",
        days_left=_days_until(facts.trial_ends_at, now),
        ends_at=facts.trial_ends_at,
    )


def refusal_message(state: Standing, *, is_owner: bool) -> str:
    """The sentence shown when asking or uploading is refused: what happened, who can fix it."""
    what = {
        "trial_ended": "Your trial has ended: the shop is read-only.",
        "canceled": "The subscription has ended: the shop is read-only.",
        "past_due": "Payment is overdue: the shop is read-only.",
    }.get(state.reason, "The shop is read-only.")
    if is_owner:
        fix = (
            "Update the payment method on the Billing page."
            if state.reason == "past_due"
            else "Subscribe on the Billing page to ask and upload again."
        )
    else:
        fix = "Ask the owner to subscribe on the Billing page."
    return f"{what} {fix} Past conversations and manuals stay open."


def seats_from_metadata(metadata: dict[str, object] | None, default: int) -> int:
    """The plan's seats: the price's metadata `seats` (a positive whole number), else `default`."""
    raw = (metadata or {}).get("seats")
    try:
        seats = int(str(raw).strip())
    except (TypeError, ValueError):
        return default
    return seats if 0 < seats <= 1000 else default
