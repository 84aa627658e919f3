"""/signup: a new shop and its owner account."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.auth_card import auth_card
from techdocs_app.components.auth_form import auth_form, email_input
from techdocs_app.components.forms import labelled_input
from techdocs_app.state.signup import SignUpState

ROUTE = "/signup"
TITLE = "Sign up · TechDocs AI"


def signup_page() -> rx.Component:
    return auth_card(
        "Create your shop's account",
        "Upload your service manuals and get cited answers in the bay.",
        auth_form(
            SignUpState,
            "Sign up",
            labelled_input(
                "Organization name",
                name="org_name",
                auto_complete="organization",
                placeholder="e.g. Smith Auto Repair",
            ),
            email_input(),
            labelled_input(
                "Password",
                name="password",
                input_type="password",
                auto_complete="new-password",
                placeholder="At least 8 characters",
            ),
        ),
        rx.text(
            "Already have an account? ",
            rx.link("Sign in", href="/signin", weight="medium"),
            size="3",
        ),
    )
