"""Billing pieces: the app-wide banner and the status card (Vars in, no State)."""

from __future__ import annotations

from typing import Any

import reflex as rx

BILLING_ROUTE = "/billing"


def billing_banner(text: rx.Var[str], for_owner: rx.Var[bool]) -> rx.Component:
    """Trial ending, payment overdue, read-only: across the top of every signed-in page; owners
    get a link to Billing."""
    return rx.cond(
        text != "",
        rx.box(
            rx.flex(
                rx.icon("triangle_alert", size=18, flex_shrink="0"),
                rx.text(text, size="2", weight="medium"),
                rx.cond(
                    for_owner,
                    rx.link("Open Billing", href=BILLING_ROUTE, weight="bold", size="2"),
                ),
                align="center",
                spacing="2",
                wrap="wrap",
                class_name="td-billing-banner-inner",
            ),
            role="status",
            id="billing-banner",
            class_name="td-billing-banner",
        ),
    )


def fact(label: str, value: rx.Var[str] | str, test_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", class_name="td-muted"),
        rx.text(value, size="4", weight="bold", id=test_id),
        spacing="0",
        align="start",
    )


def status_card(
    *,
    summary: rx.Var[str],
    date_label: rx.Var[str],
    read_only: rx.Var[bool],
) -> rx.Component:
    return rx.vstack(
        rx.heading("Status", size="4", as_="h2"),
        rx.badge(
            summary,
            size="3",
            color_scheme=rx.cond(read_only, "red", "green"),
            id="billing-status",
            class_name="td-billing-status",
        ),
        rx.cond(date_label != "", rx.text(date_label, size="3", id="billing-date")),
        spacing="2",
        width="100%",
        class_name="td-card",
    )


def problem_callout(problem: rx.Var[str]) -> rx.Component:
    return rx.cond(
        problem != "",
        rx.callout(
            problem, icon="cloud_off", color_scheme="red", role="alert", id="billing-problem"
        ),
    )


def plan_card(
    *,
    plan_name: rx.Var[str],
    price_label: rx.Var[str],
    seats_label: rx.Var[str],
    subscribed: rx.Var[bool],
    busy: rx.Var[bool],
    on_subscribe: Any,
    on_manage: Any,
) -> rx.Component:
    return rx.vstack(
        rx.heading("Plan", size="4", as_="h2"),
        rx.flex(
            fact("Plan", plan_name, "billing-plan"),
            rx.cond(price_label != "", fact("Price", price_label, "billing-price")),
            fact("Seats", seats_label, "billing-seats"),
            spacing="6",
            wrap="wrap",
        ),
        rx.text(
            "Lowering the seats never removes anyone: it only stops new invitations.",
            size="2",
            class_name="td-muted",
        ),
        rx.cond(
            subscribed,
            rx.button(
                rx.icon("credit_card", size=18),
                "Manage billing",
                size="3",
                variant="outline",
                loading=busy,
                on_click=on_manage,
                class_name="td-touch",
                id="billing-manage",
            ),
            rx.button(
                rx.icon("sparkles", size=18),
                "Subscribe",
                size="3",
                loading=busy,
                on_click=on_subscribe,
                class_name="td-touch",
                id="billing-subscribe",
            ),
        ),
        spacing="3",
        width="100%",
        class_name="td-card",
    )
