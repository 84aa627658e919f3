"""/invite/<token>: accept an invitation (sign up, or sign in, and join)."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.auth_card import auth_card
from techdocs_app.components.forms import form_error, labelled_input, submit_button
from techdocs_app.state.invite import InviteState

ROUTE = "/invite/[invite_token]"
TITLE = "Join your shop · TechDocs AI"


def _invited() -> rx.Component:
    return rx.text(
        "You are invited to join ",
        rx.text.strong(InviteState.org_name),
        " as ",
        InviteState.role_label,
        ".",
        size="4",
    )


def _sign_up() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Create your account for ", rx.text.strong(InviteState.email), ":", size="3"),
            labelled_input("Your name", name="name", auto_complete="name"),
            labelled_input(
                "Password",
                name="password",
                input_type="password",
                auto_complete="new-password",
                min_length=8,
            ),
            form_error(InviteState.error),
            submit_button("Join", busy=InviteState.submitting, ready=InviteState.is_hydrated),
            spacing="4",
            width="100%",
        ),
        on_submit=InviteState.sign_up,
        width="100%",
    )


def _sign_in() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(
                "You already have an account as ",
                rx.text.strong(InviteState.email),
                ". Sign in to join:",
                size="3",
            ),
            labelled_input(
                "Password", name="password", input_type="password", auto_complete="current-password"
            ),
            form_error(InviteState.error),
            submit_button(
                "Sign in and join", busy=InviteState.submitting, ready=InviteState.is_hydrated
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=InviteState.sign_in,
        width="100%",
    )


def _join() -> rx.Component:
    return rx.vstack(
        rx.text("You are signed in as ", rx.text.strong(InviteState.signed_in_as), ".", size="3"),
        form_error(InviteState.error),
        rx.button(
            "Join " + InviteState.org_name,
            size="3",
            width="100%",
            loading=InviteState.submitting,
            on_click=InviteState.join,
            class_name="td-touch",
        ),
        spacing="4",
        width="100%",
    )


def _wrong_account() -> rx.Component:
    return rx.vstack(
        rx.callout(
            rx.text(
                "This invitation is for ",
                rx.text.strong(InviteState.email),
                ", and you are signed in as ",
                rx.text.strong(InviteState.signed_in_as),
                ".",
            ),
            icon="info",
            color_scheme="amber",
            width="100%",
        ),
        rx.button(
            "Sign out and continue",
            size="3",
            width="100%",
            variant="outline",
            on_click=InviteState.sign_out_first,
            class_name="td-touch",
        ),
        spacing="4",
        width="100%",
    )


def _clerk() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Sign in or create your account as ",
            rx.text.strong(InviteState.email),
            " to join.",
            size="3",
        ),
        # A plain link: Clerk's sign-in is a page of the server, not of the Reflex router.
        rx.el.a(
            rx.button("Continue", size="3", width="100%", class_name="td-touch"),
            href=InviteState.clerk_url,
            style={"width": "100%"},
        ),
        spacing="4",
        width="100%",
    )


def _invalid() -> rx.Component:
    return rx.vstack(
        rx.callout(InviteState.message, icon="triangle_alert", color_scheme="red", role="alert"),
        rx.link("Go to sign in", href="/signin", size="3", weight="medium"),
        spacing="4",
        width="100%",
    )


def invite_page() -> rx.Component:
    return auth_card(
        "Join your shop",
        "TechDocs AI answers from your shop's own service manuals.",
        rx.match(
            InviteState.mode,
            ("invalid", _invalid()),
            ("join", rx.vstack(_invited(), _join(), spacing="4", width="100%")),
            ("wrong_account", rx.vstack(_invited(), _wrong_account(), spacing="4", width="100%")),
            ("sign_in", rx.vstack(_invited(), _sign_in(), spacing="4", width="100%")),
            ("sign_up", rx.vstack(_invited(), _sign_up(), spacing="4", width="100%")),
            ("clerk", rx.vstack(_invited(), _clerk(), spacing="4", width="100%")),
            rx.center(rx.spinner(size="3"), width="100%", padding="24px"),
        ),
    )
