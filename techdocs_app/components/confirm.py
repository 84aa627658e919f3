"""A button that asks before it acts: the one confirmation dialog of every page (Team, Account,
Library, Settings), with the same touch-sized Cancel and confirm buttons.

Components receive Vars and event handlers, never a State."""

from __future__ import annotations

from typing import Any

import reflex as rx


def confirm_button(
    label: str,
    *,
    icon: str,
    title: rx.Var[str] | str,
    description: rx.Var[str] | str,
    confirm_label: str,
    on_confirm: Any,
    color: str = "red",
    aria_label: rx.Var[str] | str | None = None,
) -> rx.Component:
    """A button that asks before it acts: removing people, revoking links and keys, deleting
    manuals. `aria_label` names it where one page shows many (default: `label`)."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon(icon, size=18),
                label,
                variant="soft",
                color_scheme=color,
                size="3",
                class_name="td-touch",
                aria_label=aria_label if aria_label is not None else label,
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="3"),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(
                        "Cancel",
                        variant="soft",
                        color_scheme="gray",
                        size="3",
                        class_name="td-touch",
                    )
                ),
                rx.alert_dialog.action(
                    rx.button(
                        confirm_label,
                        color_scheme=color,
                        size="3",
                        on_click=on_confirm,
                        class_name="td-touch",
                    )
                ),
                spacing="3",
                justify="end",
                wrap="wrap",
                margin_top="16px",
            ),
            max_width="min(480px, 94vw)",
        ),
    )
