"""Library pieces: the drop zone with per-file progress, document rows, the empty state.

Components receive Vars and event handlers, never a State.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import reflex as rx

from techdocs_app.components.confirm import confirm_button

MAX_FILES = 20


def selected_file_sizes(upload_id: str) -> rx.Var:
    """Sizes in bytes of the files picked in an `rx.upload` (to split upload progress per file)."""
    names = rx.selected_files(upload_id)
    key = json.dumps(upload_id)
    return rx.Var(
        _js_expr=f"(filesById[{key}] ? filesById[{key}].map((f) => f.size) : [])",
        _var_type=list[int],
        _var_data=names._get_all_var_data(),
    )


def drop_zone(*, upload_id: str, max_bytes: int, disabled: rx.Var[bool]) -> rx.Component:
    return rx.upload(
        rx.vstack(
            rx.icon("file_up", size=36, class_name="td-drop-icon"),
            rx.text("Drop PDF manuals here", weight="bold", size="4"),
            rx.text("or", size="2", class_name="td-muted"),
            rx.button(
                rx.icon("folder_open", size=18),
                "Choose PDFs",
                type="button",
                variant="outline",
                size="3",
                class_name="td-touch",
            ),
            rx.text(
                f"PDF only, up to {max_bytes // (1024 * 1024)} MB each, several at once.",
                size="2",
                class_name="td-muted",
            ),
            align="center",
            spacing="2",
        ),
        id=upload_id,
        accept={"application/pdf": [".pdf"]},
        multiple=True,
        max_files=MAX_FILES,
        max_size=max_bytes,
        disabled=disabled,
        border="2px dashed var(--accent-8)",
        padding="24px 16px",
        class_name="td-drop-zone",
    )


def selected_list(names: rx.Var[list[str]]) -> rx.Component:
    return rx.cond(
        names.length() > 0,
        rx.vstack(
            rx.text("Ready to upload", weight="bold", size="2"),
            rx.foreach(
                names,
                lambda name: rx.hstack(
                    rx.icon("file_text", size=18, class_name="td-muted"),
                    rx.text(name, size="3", class_name="td-file-name"),
                    align="center",
                    spacing="2",
                    class_name="td-file-row",
                ),
            ),
            spacing="1",
            width="100%",
        ),
    )


def upload_row(item: rx.Var[Any]) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.match(
                item.state,
                ("stored", rx.icon("circle_check", size=18, color="var(--green-11)")),
                ("rejected", rx.icon("circle_x", size=18, color="var(--red-11)")),
                rx.spinner(size="2"),
            ),
            rx.text(item.name, size="3", weight="medium", class_name="td-file-name"),
            rx.spacer(),
            rx.text(
                rx.match(
                    item.state,
                    ("sending", f"{item.progress}%"),
                    ("stored", "Sent"),
                    ("rejected", "Not uploaded"),
                    "",
                ),
                size="2",
                class_name="td-muted",
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.progress(
            value=item.progress,
            max=100,
            size="2",
            color_scheme=rx.cond(item.state == "rejected", "red", "indigo"),
            aria_label=f"Upload of {item.name}",
        ),
        rx.cond(
            item.message != "",
            rx.text(
                item.message,
                size="2",
                class_name=rx.cond(item.state == "rejected", "td-error-text", "td-muted"),
            ),
        ),
        spacing="1",
        width="100%",
        class_name="td-upload-row",
    )


def _status_badge(doc: rx.Var[Any]) -> rx.Component:
    return rx.match(
        doc.status,
        (
            "ready",
            rx.badge(rx.icon("circle_check", size=14), "Ready", color_scheme="green", size="2"),
        ),
        (
            "failed",
            rx.badge(rx.icon("circle_x", size=14), "Failed", color_scheme="red", size="2"),
        ),
        rx.badge(rx.spinner(size="1"), "Processing", color_scheme="blue", size="2"),
    )


def _delete_button(doc: rx.Var[Any], on_delete: Callable[[Any], Any]) -> rx.Component:
    return confirm_button(
        "Delete",
        icon="trash_2",
        title=f"Delete {doc.filename}?",
        description=(
            "The manual and everything indexed from it are removed for everyone in your "
            "shop. Answers will no longer cite it. This cannot be undone."
        ),
        confirm_label="Delete manual",
        on_confirm=on_delete(doc.id),
    )


def queue_banner(*, paused: rx.Var[bool], note: rx.Var[str]) -> rx.Component:
    """No worker alive: say so plainly (everyone). `note`: the queue in a line (owners, admins)."""
    return rx.fragment(
        rx.cond(
            paused,
            rx.callout(
                rx.vstack(
                    rx.text("Waiting for a worker: processing is paused", weight="bold"),
                    rx.text(
                        "Your manuals are stored safely and will be processed as soon as the "
                        "processing service is running again.",
                        size="2",
                    ),
                    spacing="1",
                ),
                icon="circle_pause",
                color_scheme="amber",
                size="2",
                width="100%",
                role="status",
                class_name="td-queue-paused",
            ),
        ),
        rx.cond(
            note != "",
            rx.text(note, size="2", class_name="td-muted td-queue-note"),
        ),
    )


def document_row(
    doc: rx.Var[Any],
    *,
    on_delete: Callable[[Any], Any],
    on_reindex: Callable[[Any], Any],
    on_retry: Callable[[Any], Any],
    can_manage: rx.Var[bool],
) -> rx.Component:
    """A manual: name, status, progress or the reason it failed, and its actions (a failed one
    offers Retry to those who manage the library, Re-index otherwise)."""
    return rx.box(
        rx.vstack(
            rx.flex(
                rx.vstack(
                    # The file name the shop uploaded first: PDF metadata titles are often codes.
                    rx.text(doc.filename, weight="bold", size="4", class_name="td-doc-title"),
                    rx.cond(
                        doc.filename != doc.title,
                        rx.text(doc.title, size="2", class_name="td-muted td-file-name"),
                    ),
                    rx.text(doc.details, size="2", class_name="td-muted td-doc-details"),
                    spacing="1",
                    min_width="0",
                    flex="1",
                ),
                _status_badge(doc),
                justify="between",
                align="start",
                spacing="3",
                width="100%",
            ),
            rx.cond(
                (doc.status == "processing") | (doc.status == "pending"),
                rx.vstack(
                    rx.progress(
                        value=doc.progress, max=100, size="3", aria_label="Processing progress"
                    ),
                    rx.text(doc.progress_label, size="2", class_name="td-muted"),
                    spacing="1",
                    width="100%",
                ),
            ),
            rx.cond(
                doc.status == "failed",
                rx.callout(
                    rx.vstack(
                        rx.text(doc.error),
                        rx.cond(
                            doc.job_detail != "",
                            rx.text(doc.job_detail, size="1", class_name="td-job-detail"),
                        ),
                        spacing="1",
                    ),
                    icon="triangle_alert",
                    color_scheme="red",
                    size="2",
                    width="100%",
                ),
            ),
            rx.flex(
                rx.cond(
                    (doc.status == "failed") & can_manage,
                    rx.button(
                        rx.icon("rotate_ccw", size=18),
                        "Retry",
                        size="3",
                        on_click=on_retry(doc.id),
                        class_name="td-touch",
                    ),
                    rx.button(
                        rx.icon("refresh_cw", size=18),
                        "Re-index",
                        variant="outline",
                        size="3",
                        on_click=on_reindex(doc.id),
                        disabled=doc.status == "processing",
                        class_name="td-touch",
                    ),
                ),
                _delete_button(doc, on_delete),
                spacing="2",
                wrap="wrap",
                justify="end",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        class_name="td-doc-row",
        data_status=doc.status,
    )


def empty_library() -> rx.Component:
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
        rx.el.ol(
            rx.el.li("Drop the PDFs above, or tap Choose PDFs."),
            rx.el.li("Tap Upload. Each manual shows Processing, then Ready (about a minute)."),
            rx.el.li("Open Chat and ask: torque specs, part numbers, fault codes, procedures."),
            class_name="td-steps",
        ),
        align="center",
        spacing="2",
        class_name="td-empty",
    )
