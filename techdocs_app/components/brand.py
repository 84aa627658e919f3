"""Logo and product name."""

from __future__ import annotations

import reflex as rx

PRODUCT_NAME = "TechDocs AI"


def brand(*, size: str = "32px") -> rx.Component:
    return rx.hstack(
        rx.image(src="/logo.svg", alt="", width=size, height=size),
        rx.text(PRODUCT_NAME, weight="bold", size="5", class_name="td-brand-name"),
        align="center",
        spacing="2",
    )
