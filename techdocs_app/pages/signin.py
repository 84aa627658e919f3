"""/signin"""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.auth_card import auth_card
from techdocs_app.components.auth_form import auth_form, email_input
from techdocs_app.components.forms import labelled_input
from techdocs_app.state.signin import SignInState

ROUTE = "/signin"
TITLE = "Sign in · TechDocs AI"


def signin_page() -> rx.Component:
    return auth_card(
        "Sign in",
        "Welcome back. Sign in to search your shop's manuals.",
        auth_form(
            SignInState,
            "Sign in",
            email_input(),
            labelled_input(
                "Password",
                name="password",
                input_type="password",
                auto_complete="current-password",
            ),
        ),
        rx.text(
            "New to TechDocs AI? ",
            rx.link("Create an account", href="/signup", weight="medium"),
            size="3",
        ),
    )
