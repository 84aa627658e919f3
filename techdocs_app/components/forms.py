"""Form pieces sized for gloved fingers on a tablet: 48 px fields, 48 px buttons."""

from __future__ import annotations

from typing import Any

import reflex as rx


def labelled_input(
    label: str,
    *,
    name: str,
    input_type: str = "text",
    auto_complete: str = "off",
    placeholder: str = "",
    min_length: int | None = None,
) -> rx.Component:
    """A visible <label> tied to its input by id, so screen readers and tests find it by name."""
    field_id = f"field-{name}"
    extra = {"min_length": min_length} if min_length else {}
    return rx.vstack(
        rx.el.label(label, html_for=field_id, class_name="td-label"),
        rx.input(
            id=field_id,
            name=name,
            type=input_type,
            required=True,
            auto_complete=auto_complete,
            placeholder=placeholder,
            size="3",
            width="100%",
            **extra,
        ),
        spacing="1",
        width="100%",
    )


def form_error(message: rx.Var[str]) -> rx.Component:
    """The one message a failed action shows (always an error's `user_message`)."""
    return rx.cond(
        message != "",
        rx.callout(
            message,
            icon="triangle_alert",
            color_scheme="red",
            role="alert",
            size="2",
            width="100%",
            class_name="td-form-error",
        ),
    )


def submit_button(label: str, *, busy: rx.Var[bool], ready: rx.Var[bool]) -> rx.Component:
    """Disabled until the page is hydrated: a click before that would make the browser submit
    the form natively (a GET with the password in the URL)."""
    return rx.button(
        label,
        type="submit",
        size="3",
        width="100%",
        loading=busy,
        disabled=~ready,
        class_name="td-touch",
    )


def copy_and_dismiss_buttons(
    copy_label: str, *, on_copy: Any, dismiss_label: str, on_dismiss: Any
) -> rx.Component:
    """Copy, then put away: under a secret shown once (an invitation link, an API key)."""
    return rx.flex(
        rx.button(
            rx.icon("copy", size=18),
            copy_label,
            size="3",
            on_click=on_copy,
            class_name="td-touch",
        ),
        rx.button(
            dismiss_label,
            variant="soft",
            color_scheme="gray",
            size="3",
            on_click=on_dismiss,
            class_name="td-touch",
        ),
        spacing="2",
        wrap="wrap",
    )
