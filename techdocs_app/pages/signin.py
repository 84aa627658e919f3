"""/signin"""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.auth_card import auth_card
from techdocs_app.components.forms import form_error, labelled_input, submit_button
from techdocs_app.state.signin import SignInState

ROUTE = "/signin"
TITLE = "Sign in · TechDocs AI"


def signin_page() -> rx.Component:
    return auth_card(
        "Sign in",
        "Welcome back. Sign in to search your shop's manuals.",
        rx.form(
            rx.vstack(
                labelled_input("Email", name="email", input_type="email", auto_complete="email"),
                labelled_input(
                    "Password",
                    name="password",
                    input_type="password",
                    auto_complete="current-password",
                ),
                form_error(SignInState.error),
                submit_button(
                    "Sign in", busy=SignInState.submitting, ready=SignInState.is_hydrated
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=SignInState.submit,
            width="100%",
        ),
        rx.text(
            "New to TechDocs AI? ",
            rx.link("Create an account", href="/signup", weight="medium"),
            size="3",
        ),
    )
