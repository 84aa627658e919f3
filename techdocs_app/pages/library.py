"""/library: the shop's service manuals: upload, processing status, delete, re-index, filter."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.library import (
    document_row,
    drop_zone,
    empty_library,
    queue_banner,
    selected_file_sizes,
    selected_list,
    upload_row,
)
from techdocs_app.pages.frame import signed_in_frame
from techdocs_app.settings import get_settings
from techdocs_app.state.library import UPLOAD_ID, LibraryState

ROUTE = "/library"
TITLE = "Library · TechDocs AI"


def _upload_card() -> rx.Component:
    selected = rx.selected_files(UPLOAD_ID)
    return rx.box(
        rx.vstack(
            drop_zone(
                upload_id=UPLOAD_ID,
                max_bytes=get_settings().max_upload_bytes,
                disabled=LibraryState.uploading,
            ),
            rx.cond(LibraryState.uploading, rx.fragment(), selected_list(selected)),
            rx.cond(
                LibraryState.uploads.length() > 0,
                rx.vstack(
                    rx.foreach(LibraryState.uploads, upload_row),
                    spacing="3",
                    width="100%",
                    class_name="td-uploads",
                ),
            ),
            rx.flex(
                rx.cond(
                    (LibraryState.uploads.length() > 0) & ~LibraryState.uploading,
                    rx.button(
                        "Clear list",
                        variant="soft",
                        color_scheme="gray",
                        size="3",
                        on_click=LibraryState.clear_uploads,
                        class_name="td-touch",
                    ),
                ),
                rx.button(
                    rx.icon("upload", size=18),
                    "Upload",
                    size="3",
                    loading=LibraryState.uploading,
                    disabled=(selected.length() == 0) | ~LibraryState.is_hydrated,
                    on_click=[
                        LibraryState.begin_upload(selected, selected_file_sizes(UPLOAD_ID)),
                        LibraryState.receive_uploads(
                            rx.upload_files_chunk(
                                upload_id=UPLOAD_ID,
                                on_upload_progress=LibraryState.upload_progress,
                            )
                        ),
                    ],
                    class_name="td-touch",
                ),
                spacing="2",
                justify="end",
                wrap="wrap",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        class_name="td-card",
    )


def _documents() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.heading("Manuals", size="5", as_="h2"),
            rx.text(
                LibraryState.total_documents.to_string() + " in your library",
                size="2",
                class_name="td-muted",
            ),
            justify="between",
            align="baseline",
            wrap="wrap",
            spacing="2",
            width="100%",
        ),
        queue_banner(paused=LibraryState.queue_paused, note=LibraryState.queue_note),
        rx.box(
            rx.el.label("Filter by name", html_for="library-filter", class_name="td-label"),
            rx.debounce_input(
                rx.input(
                    id="library-filter",
                    value=LibraryState.name_filter,
                    on_change=LibraryState.set_name_filter,
                    placeholder="Filter by name",
                    type="search",
                    size="3",
                    width="100%",
                ),
                debounce_timeout=300,
            ),
            width="100%",
        ),
        rx.cond(
            LibraryState.documents.length() > 0,
            rx.vstack(
                rx.foreach(
                    LibraryState.documents,
                    lambda doc: document_row(
                        doc,
                        on_delete=LibraryState.delete_document,
                        on_reindex=LibraryState.reindex_document,
                        on_retry=LibraryState.retry_document,
                        can_manage=LibraryState.can_manage,
                    ),
                ),
                spacing="3",
                width="100%",
                class_name="td-doc-list",
            ),
            rx.text("No manuals match this filter.", size="3", class_name="td-muted"),
        ),
        spacing="3",
        width="100%",
    )


def library_page() -> rx.Component:
    return signed_in_frame(
        rx.vstack(
            rx.heading("Library", size="7", as_="h1"),
            rx.text(
                "Your shop's service manuals. Everyone in your organization can search them in "
                "Chat.",
                size="3",
                class_name="td-muted",
            ),
            _upload_card(),
            rx.cond(
                LibraryState.loaded,
                rx.cond(LibraryState.total_documents > 0, _documents(), empty_library()),
                rx.center(rx.spinner(size="3"), width="100%", padding="24px"),
            ),
            spacing="4",
            width="100%",
        ),
        active_route=ROUTE,
    )
