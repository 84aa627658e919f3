"""Chat pieces: turns, answers with their sources, feedback, the question bar, the page preview.

Components receive Vars and event handlers, never a State.

Text from manuals (answers, titles, file names, headings, snippets) is data: everything but the
answer is a plain text node; the answer is markdown rendered by `render_answer` with raw HTML
off (react-markdown then shows markup as text) and an allow-list of elements: no images, no
links, no embedded content. The server has already escaped markup and dropped images and links
(`safe_text.answer_markdown`); the page's Content-Security-Policy is the last line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx

QUESTION_INPUT_ID = "chat-question"
CHAT_END_ID = "chat-end"
OFFLINE_LABEL = "Offline answer: quoted from your manuals"
NOT_FOUND_LABEL = "Not in your manuals"


ANSWER_ELEMENTS = [
    "p", "br", "strong", "em", "del", "code", "pre", "blockquote", "hr",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
]  # fmt: skip
"""What an answer may contain. Anything else (img, a, iframe, input, raw HTML …) is dropped and
its text kept."""


def render_answer(content: rx.Var[str]) -> rx.Component:
    """An answer's markdown, safely: GFM tables and lists; no raw HTML, math, images or links."""
    return rx.markdown.root(
        content,
        remark_plugins=[rx.markdown.plugin.gfm],
        rehype_plugins=[],
        custom_attrs={
            "allowedElements": ANSWER_ELEMENTS,
            "unwrapDisallowed": True,
            "skipHtml": False,
        },
    )


def user_turn(content: rx.Var[str]) -> rx.Component:
    return rx.box(rx.text(content, size="3"), class_name="td-turn td-turn-user")


def source_button(source: rx.Var[Any], on_open: Callable[[Any], Any]) -> rx.Component:
    """One cited passage: tapping it opens the page with the passage highlighted."""
    return rx.el.button(
        rx.hstack(
            rx.box(source.number, class_name="td-source-number", aria_hidden="true"),
            rx.vstack(
                rx.hstack(
                    rx.text(source.document, weight="bold", size="2", class_name="td-source-doc"),
                    rx.text(source.pages_label, size="2", class_name="td-source-page"),
                    spacing="2",
                    align="baseline",
                    wrap="wrap",
                ),
                rx.cond(
                    source.heading != "",
                    rx.text(source.heading, size="2", class_name="td-source-heading"),
                ),
                rx.text(source.snippet, size="2", class_name="td-source-snippet"),
                spacing="1",
                align="start",
                min_width="0",
                flex="1",
            ),
            rx.icon("image", size=20, class_name="td-source-icon", aria_hidden="true"),
            spacing="3",
            align="start",
            width="100%",
        ),
        type="button",
        on_click=on_open(source),
        class_name="td-source",
        aria_label=f"Open source {source.number}: {source.document}, {source.pages_label}",
    )


def sources_list(sources: rx.Var[list[Any]], on_open: Callable[[Any], Any]) -> rx.Component:
    return rx.cond(
        sources.length() > 0,
        rx.vstack(
            rx.text("Sources", weight="bold", size="2", class_name="td-sources-title"),
            rx.foreach(sources, lambda source: source_button(source, on_open)),
            spacing="2",
            width="100%",
            class_name="td-sources",
        ),
    )


def _feedback(message: rx.Var[Any], on_rate: Callable[[Any, int], Any]) -> rx.Component:
    return rx.hstack(
        rx.text("Was this helpful?", size="2", class_name="td-muted"),
        rx.icon_button(
            rx.icon("thumbs_up", size=20),
            on_click=on_rate(message.message_id, 1),
            variant=rx.cond(message.feedback == 1, "solid", "soft"),
            color_scheme="green",
            size="3",
            aria_label="Helpful",
            aria_pressed=rx.cond(message.feedback == 1, "true", "false"),
            class_name="td-icon-touch",
        ),
        rx.icon_button(
            rx.icon("thumbs_down", size=20),
            on_click=on_rate(message.message_id, -1),
            variant=rx.cond(message.feedback == -1, "solid", "soft"),
            color_scheme="red",
            size="3",
            aria_label="Not helpful",
            aria_pressed=rx.cond(message.feedback == -1, "true", "false"),
            class_name="td-icon-touch",
        ),
        spacing="2",
        align="center",
        class_name="td-feedback",
    )


def _answer_badges(
    *, not_found: rx.Var[bool], offline: rx.Var[bool], stopped: rx.Var[bool] | bool = False
) -> rx.Component:
    return rx.hstack(
        rx.cond(
            not_found,
            rx.badge(
                rx.icon("search_x", size=14),
                NOT_FOUND_LABEL,
                color_scheme="amber",
                size="2",
                class_name="td-badge-not-found",
            ),
        ),
        rx.cond(
            offline & ~not_found,
            rx.badge(
                rx.icon("wifi_off", size=14),
                OFFLINE_LABEL,
                color_scheme="gray",
                size="2",
                class_name="td-badge-offline",
            ),
        ),
        rx.cond(stopped, rx.badge("Stopped", color_scheme="gray", size="2")),
        spacing="2",
        wrap="wrap",
    )


def answer_turn(
    message: rx.Var[Any],
    *,
    on_open_source: Callable[[Any], Any],
    on_rate: Callable[[Any, int], Any],
) -> rx.Component:
    return rx.box(
        rx.cond(
            message.failed,
            rx.callout(message.content, icon="triangle_alert", color_scheme="red", size="2"),
            rx.vstack(
                _answer_badges(
                    not_found=message.not_found, offline=message.offline, stopped=message.stopped
                ),
                rx.box(render_answer(message.content), class_name="td-answer-text"),
                sources_list(message.sources, on_open_source),
                rx.cond(message.message_id > 0, _feedback(message, on_rate)),
                spacing="3",
                width="100%",
            ),
        ),
        class_name=rx.cond(
            message.not_found,
            "td-turn td-answer td-answer-not-found",
            rx.cond(message.failed, "td-turn td-answer td-answer-failed", "td-turn td-answer"),
        ),
    )


def chat_turn(
    message: rx.Var[Any],
    *,
    on_open_source: Callable[[Any], Any],
    on_rate: Callable[[Any, int], Any],
) -> rx.Component:
    return rx.cond(
        message.role == "user",
        user_turn(message.content),
        answer_turn(message, on_open_source=on_open_source, on_rate=on_rate),
    )


def draft_answer(
    *,
    content: rx.Var[str],
    status: rx.Var[str],
    sources: rx.Var[list[Any]],
    on_open_source: Callable[[Any], Any],
) -> rx.Component:
    """The answer while it streams in (no feedback until it is saved)."""
    return rx.box(
        rx.vstack(
            rx.cond(
                status != "",
                rx.hstack(
                    rx.spinner(size="2"),
                    rx.text(status, size="2", class_name="td-muted"),
                    align="center",
                    spacing="2",
                ),
            ),
            rx.cond(
                content != "",
                rx.box(render_answer(content), class_name="td-answer-text"),
            ),
            sources_list(sources, on_open_source),
            spacing="3",
            width="100%",
        ),
        class_name="td-turn td-answer td-answer-streaming",
        aria_live="polite",
        aria_busy="true",
    )


def question_bar(
    *,
    on_submit: Any,
    on_stop: Any,
    streaming: rx.Var[bool],
    ready: rx.Var[bool],
    paused: rx.Var[bool] | bool = False,
) -> rx.Component:
    """Question box with Send (Enter sends); while an answer streams, Send becomes Stop.

    `paused` (the shop is read-only): the box and Send are disabled and the box says why, so
    nobody types a question only to have it refused (the banner above says what to do)."""
    return rx.form(
        rx.flex(
            rx.el.label("Question", html_for=QUESTION_INPUT_ID, class_name="td-visually-hidden"),
            rx.input(
                id=QUESTION_INPUT_ID,
                name="question",
                placeholder=rx.cond(
                    paused, "Asking is paused: see the banner above", "Ask about your manuals"
                ),
                disabled=paused,
                auto_complete="off",
                size="3",
                flex="1",
                min_width="0",
            ),
            rx.cond(
                streaming,
                rx.button(
                    rx.icon("square", size=18),
                    "Stop",
                    type="button",
                    size="3",
                    color_scheme="red",
                    variant="soft",
                    on_click=on_stop,
                    class_name="td-touch",
                ),
                rx.button(
                    rx.icon("send", size=18),
                    "Send",
                    type="submit",
                    size="3",
                    disabled=~ready | paused,
                    class_name="td-touch",
                ),
            ),
            spacing="2",
            width="100%",
            align="center",
        ),
        on_submit=on_submit,
        reset_on_submit=True,
        width="100%",
        class_name="td-question-bar",
    )


def page_preview(
    *,
    open_: rx.Var[bool],
    on_open_change: Any,
    url: rx.Var[str],
    title: rx.Var[str],
    caption: rx.Var[str],
    zoomed: rx.Var[bool],
    on_zoom: Any,
    focus_top: rx.Var[float] | float = 0.0,
) -> rx.Component:
    """The cited page, rendered on the server with the passage highlighted.

    `assets/page_preview.js` scrolls the frame to `focus_top` (the passage's top in the image's
    own pixels) once the image has loaded, and again when zoom changes its size.
    """
    return rx.dialog.root(
        rx.dialog.content(
            rx.flex(
                rx.vstack(
                    rx.dialog.title(title, size="4", margin="0"),
                    rx.dialog.description(caption, size="2", class_name="td-muted"),
                    spacing="1",
                    min_width="0",
                    flex="1",
                ),
                rx.hstack(
                    rx.button(
                        rx.icon(rx.cond(zoomed, "zoom_out", "zoom_in"), size=18),
                        rx.cond(zoomed, "Fit", "Zoom"),
                        variant="soft",
                        size="3",
                        on_click=on_zoom,
                        class_name="td-touch",
                    ),
                    rx.dialog.close(
                        rx.button(
                            rx.icon("x", size=18),
                            "Close",
                            variant="soft",
                            color_scheme="gray",
                            size="3",
                            class_name="td-touch",
                        )
                    ),
                    spacing="2",
                ),
                justify="between",
                align="start",
                spacing="3",
                wrap="wrap",
            ),
            rx.box(
                rx.image(
                    src=url,
                    alt=title,
                    class_name=rx.cond(zoomed, "td-page-image td-page-zoomed", "td-page-image"),
                    custom_attrs={"data-focus-top": focus_top},
                ),
                class_name="td-page-frame",
            ),
            rx.text(
                "The highlighted box marks the cited passage.",
                size="2",
                class_name="td-muted",
            ),
            class_name="td-preview",
            max_width="min(900px, 96vw)",
            width="96vw",
        ),
        open=open_,
        on_open_change=on_open_change,
    )
