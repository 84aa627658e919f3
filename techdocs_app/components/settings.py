"""Pieces of the /settings page: API key rows, the shown-once key, the danger zone.
Components receive Vars and event handlers, never a State."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

from techdocs_app.components.confirm import confirm_button
from techdocs_app.components.forms import copy_and_dismiss_buttons


def key_row(key: rx.Var[Any], *, on_revoke: Callable[[Any], Any]) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.text(key.name, weight="bold", size="4"),
                rx.text(
                    rx.code(key.prefix + "…"),
                    " · role ",
                    rx.text.strong(key.role),
                    size="2",
                ),
                rx.text(
                    "Created by " + key.created_by + " on " + key.created,
                    " · last used " + key.last_used,
                    size="2",
                    class_name="td-muted",
                ),
                spacing="1",
                align="start",
            ),
            confirm_button(
                "Revoke",
                icon="ban",
                title="Revoke " + key.name + "?",
                description=(
                    "Programs using this key can no longer reach your manuals. This cannot "
                    "be undone; create a new key if you need one."
                ),
                confirm_label="Revoke key",
                on_confirm=on_revoke(key.id),
            ),
            justify="between",
            align="center",
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        class_name="td-card td-key-row",
    )


def new_key_callout(
    *, name: rx.Var[str], secret: rx.Var[str], on_copy: Any, on_dismiss: Any
) -> rx.Component:
    """The whole key, once: it is never shown again (only its hash is kept)."""
    return rx.callout.root(
        rx.vstack(
            rx.text(
                "Copy the key for " + name + " now: you will not see it again.",
                weight="bold",
                size="3",
            ),
            rx.code(secret, size="3", class_name="td-secret", id="new-api-key"),
            copy_and_dismiss_buttons(
                "Copy", on_copy=on_copy, dismiss_label="I have saved it", on_dismiss=on_dismiss
            ),
            spacing="2",
            width="100%",
        ),
        color_scheme="green",
        role="status",
        width="100%",
    )
