"""/signup: a new shop and its owner account."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.auth_card import auth_card
from techdocs_app.components.forms import form_error, labelled_input, submit_button
from techdocs_app.state.signup import SignUpState

ROUTE = "/signup"
TITLE = "Sign up · TechDocs AI"


def signup_page() -> rx.Component:
    return auth_card(
        "Create your shop's account",
        "Upload your service manuals and get cited answers in the bay.",
        rx.form(
            rx.vstack(
                labelled_input(
                    "Organization name",
                    name="org_name",
                    auto_complete="organization",
                    placeholder="e.g. Smith Auto Repair",
                ),
                labelled_input("Email", name="email", input_type="email", auto_complete="email"),
                labelled_input(
                    "Password",
                    name="password",
                    input_type="password",
                    auto_complete="new-password",
                    placeholder="At least 8 characters",
                ),
                form_error(SignUpState.error),
                submit_button(
                    "Sign up", busy=SignUpState.submitting, ready=SignUpState.is_hydrated
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=SignUpState.submit,
            width="100%",
        ),
        rx.text(
            "Already have an account? ",
            rx.link("Sign in", href="/signin", weight="medium"),
            size="3",
        ),
    )
