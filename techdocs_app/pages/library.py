"""/library: the shop's service manuals."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.forms import form_error
from techdocs_app.components.shell import app_shell
from techdocs_app.state.base import SessionState
from techdocs_app.state.library import LibraryState

ROUTE = "/library"
TITLE = "Library · TechDocs AI"


def _empty_library() -> rx.Component:
    return rx.vstack(
        rx.icon("file_text", size=36, class_name="td-muted"),
        rx.heading("No manuals yet", size="5", as_="h2"),
        rx.text(
            "Upload your first service manual (PDF) to get started. Once it is processed, "
            "everyone in your shop can ask questions about it in Chat.",
            size="3",
            class_name="td-muted",
            text_align="center",
        ),
        align="center",
        spacing="2",
        class_name="td-empty",
    )


def library_page() -> rx.Component:
    return app_shell(
        rx.vstack(
            rx.heading("Library", size="7", as_="h1"),
            form_error(LibraryState.error),
            _empty_library(),
            spacing="4",
            width="100%",
        ),
        active_route=ROUTE,
        ready=SessionState.signed_in,
        org_name=SessionState.org_name,
        user_email=SessionState.user_email,
        on_sign_out=SessionState.sign_out,
    )
