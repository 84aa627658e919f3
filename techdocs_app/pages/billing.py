"""/billing: the shop's plan and status. Owners subscribe and manage billing; everyone else sees
the status. Also `with_billing_banner`, which puts the billing banner on every signed-in page."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from techdocs_app.components.billing import (
    BILLING_ROUTE,
    billing_banner,
    plan_card,
    problem_callout,
    status_card,
)
from techdocs_app.pages.frame import signed_in_frame
from techdocs_app.state.base import SessionState
from techdocs_app.state.billing import BillingState

ROUTE = BILLING_ROUTE
TITLE = "Billing · TechDocs AI"


def _not_set_up() -> rx.Component:
    return rx.callout(
        "Billing is not set up on this server: every feature is available, with no trial "
        "and no subscription.",
        icon="info",
        color_scheme="gray",
        id="billing-not-set-up",
    )


def _owner_part() -> rx.Component:
    return rx.cond(
        BillingState.can_manage,
        plan_card(
            plan_name=BillingState.plan_name,
            price_label=BillingState.price_label,
            seats_label=BillingState.seats_label,
            subscribed=BillingState.subscribed,
            busy=BillingState.redirecting,
            on_subscribe=BillingState.subscribe,
            on_manage=BillingState.manage,
        ),
        rx.text(
            "Only the shop's owner can subscribe or change billing.",
            size="3",
            class_name="td-muted",
            id="billing-read-only-note",
        ),
    )


def _body() -> rx.Component:
    return rx.vstack(
        rx.cond(
            BillingState.note != "",
            rx.callout(BillingState.note, icon="info", color_scheme="blue", id="billing-note"),
        ),
        problem_callout(BillingState.problem),
        rx.cond(
            BillingState.enabled,
            rx.vstack(
                status_card(
                    summary=BillingState.summary,
                    date_label=BillingState.date_label,
                    read_only=BillingState.read_only,
                ),
                _owner_part(),
                spacing="4",
                width="100%",
            ),
            _not_set_up(),
        ),
        spacing="4",
        width="100%",
    )


def billing_page() -> rx.Component:
    return signed_in_frame(
        rx.vstack(
            rx.heading("Billing", size="7", as_="h1"),
            rx.cond(
                BillingState.loaded,
                _body(),
                rx.center(rx.spinner(size="3"), width="100%", padding="24px"),
            ),
            spacing="4",
            width="100%",
            max_width="720px",
        ),
        active_route=ROUTE,
    )


def with_billing_banner(page: Callable[[], rx.Component]) -> Callable[[], rx.Component]:
    """`page` with the billing banner above it (shown only to signed-in people, when due)."""

    def framed() -> rx.Component:
        return rx.fragment(
            rx.cond(
                SessionState.signed_in,
                billing_banner(BillingState.banner, BillingState.banner_for_owner),
            ),
            page(),
        )

    framed.__name__ = page.__name__
    return framed
