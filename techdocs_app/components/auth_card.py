"""Centered card for the sign-in and sign-up pages."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.brand import brand


def auth_card(title: str, subtitle: str, *children: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            brand(size="40px"),
            rx.card(
                rx.vstack(
                    rx.heading(title, size="6", as_="h1"),
                    rx.text(subtitle, size="3", class_name="td-muted"),
                    *children,
                    spacing="4",
                    width="100%",
                ),
                size="4",
                width="100%",
                class_name="td-auth-card",
            ),
            align="center",
            spacing="5",
            width="100%",
            max_width="440px",
        ),
        class_name="td-auth-page",
    )
