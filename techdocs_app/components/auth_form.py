"""The form body shared by the sign-in and sign-up pages."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.forms import form_error, labelled_input, submit_button


def email_input() -> rx.Component:
    return labelled_input("Email", name="email", input_type="email", auto_complete="email")


def auth_form(state: type[rx.State], submit_label: str, *fields: rx.Component) -> rx.Component:
    """The fields, then the state's error and a submit button that is busy while it submits.

    `state` has `error: str` and `submitting: bool` vars and a `submit(form_data)` event.
    """
    return rx.form(
        rx.vstack(
            *fields,
            form_error(state.error),
            submit_button(submit_label, busy=state.submitting, ready=state.is_hydrated),
            spacing="4",
            width="100%",
        ),
        on_submit=state.submit,
        width="100%",
    )
