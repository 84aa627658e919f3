"""/ : ask questions about the shop's manuals, with cited, streamed answers."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.chat import (
    CHAT_END_ID,
    chat_turn,
    draft_answer,
    page_preview,
    question_bar,
)
from techdocs_app.pages.frame import signed_in_frame
from techdocs_app.state.billing import BillingState
from techdocs_app.state.chat import ChatState, ConversationItem, ScopeDocument

ROUTE = "/"
TITLE = "Chat · TechDocs AI"


def _empty_chat() -> rx.Component:
    return rx.vstack(
        rx.icon("wrench", size=36, class_name="td-muted"),
        rx.heading("Ask about your manuals", size="5", as_="h2"),
        rx.text(
            "Torque specs, part numbers, fault codes, procedures: answers come with the manual "
            "and page they were found on.",
            size="3",
            class_name="td-muted",
            text_align="center",
        ),
        rx.cond(
            ChatState.library_loaded & ~ChatState.has_documents,
            rx.callout(
                rx.text(
                    "Your library has no ready manuals yet. ",
                    rx.link("Upload a PDF in the Library", href="/library", weight="bold"),
                    " first; questions are answered only from your own manuals.",
                ),
                icon="info",
                size="2",
                class_name="td-empty-callout",
            ),
        ),
        align="center",
        spacing="3",
        class_name="td-empty",
    )


def _conversation_row(item: rx.Var[ConversationItem]) -> rx.Component:
    return rx.hstack(
        rx.el.button(
            rx.vstack(
                rx.text(item.title, weight="medium", size="3", class_name="td-conv-title"),
                rx.text(item.when, size="1", class_name="td-muted"),
                spacing="0",
                align="start",
                min_width="0",
            ),
            type="button",
            on_click=ChatState.open_conversation(item.id),
            class_name=rx.cond(
                item.id == ChatState.conversation_id,
                "td-conv-open td-conv-current",
                "td-conv-open",
            ),
        ),
        rx.icon_button(
            rx.icon("trash_2", size=18),
            on_click=ChatState.delete_conversation(item.id),
            variant="soft",
            color_scheme="red",
            size="3",
            aria_label="Delete conversation",
            class_name="td-icon-touch",
        ),
        spacing="2",
        align="center",
        width="100%",
        class_name="td-conv-row",
    )


def _history_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("history", size=18),
                "History",
                variant="soft",
                color_scheme="gray",
                size="3",
                class_name="td-touch",
            )
        ),
        rx.dialog.content(
            rx.flex(
                rx.dialog.title("Past conversations", size="5", margin="0"),
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
                justify="between",
                align="center",
                spacing="3",
            ),
            rx.dialog.description(
                "Open one to continue it, or delete it.", size="2", class_name="td-muted"
            ),
            rx.cond(
                ChatState.conversations.length() > 0,
                rx.vstack(
                    rx.foreach(ChatState.conversations, _conversation_row),
                    spacing="2",
                    width="100%",
                    class_name="td-conv-list",
                ),
                rx.text("No conversations yet.", size="3", class_name="td-muted"),
            ),
            max_width="min(640px, 96vw)",
            width="96vw",
        ),
        open=ChatState.history_open,
        on_open_change=ChatState.set_history_open,
    )


def _scope_row(doc: rx.Var[ScopeDocument]) -> rx.Component:
    return rx.el.label(
        rx.checkbox(
            checked=ChatState.scope_ids.contains(doc.id),
            on_change=lambda checked: ChatState.toggle_scope(doc.id, checked),
            size="3",
        ),
        rx.text(doc.title, size="3"),
        class_name="td-scope-row",
    )


def _scope_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.button(
                rx.icon("book_open", size=18),
                rx.text(ChatState.scope_label, class_name="td-scope-label"),
                variant="soft",
                color_scheme="gray",
                size="3",
                class_name="td-touch td-scope-button",
                aria_label="Choose which manuals to search",
            )
        ),
        rx.dialog.content(
            rx.flex(
                rx.dialog.title("Search in", size="5", margin="0"),
                rx.dialog.close(
                    rx.button("Done", size="3", class_name="td-touch"),
                ),
                justify="between",
                align="center",
                spacing="3",
            ),
            rx.dialog.description(
                "Tick manuals to search only those. Nothing ticked searches all of them.",
                size="2",
                class_name="td-muted",
            ),
            rx.cond(
                ChatState.has_documents,
                rx.vstack(
                    rx.foreach(ChatState.documents, _scope_row),
                    rx.button(
                        "Search all manuals",
                        on_click=ChatState.clear_scope,
                        variant="outline",
                        size="3",
                        class_name="td-touch",
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.text("No ready manuals yet.", size="3", class_name="td-muted"),
            ),
            max_width="min(640px, 96vw)",
            width="96vw",
        ),
        open=ChatState.scope_open,
        on_open_change=ChatState.set_scope_open,
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.button(
            rx.icon("plus", size=18),
            "New conversation",
            on_click=ChatState.new_conversation,
            variant="outline",
            size="3",
            class_name="td-touch",
        ),
        _history_dialog(),
        _scope_dialog(),
        spacing="2",
        wrap="wrap",
        width="100%",
        class_name="td-chat-toolbar",
    )


def _transcript() -> rx.Component:
    return rx.vstack(
        rx.foreach(
            ChatState.messages,
            lambda message: chat_turn(
                message, on_open_source=ChatState.open_source, on_rate=ChatState.rate
            ),
        ),
        rx.cond(
            ChatState.streaming,
            draft_answer(
                content=ChatState.draft_content,
                status=ChatState.draft_status,
                sources=ChatState.draft_sources,
                on_open_source=ChatState.open_source,
            ),
        ),
        spacing="3",
        width="100%",
        class_name="td-transcript",
    )


def chat_page() -> rx.Component:
    return signed_in_frame(
        rx.vstack(
            _toolbar(),
            rx.cond(
                (ChatState.messages.length() > 0) | ChatState.streaming,
                _transcript(),
                _empty_chat(),
            ),
            rx.box(id=CHAT_END_ID),
            question_bar(
                on_submit=ChatState.submit_question,
                on_stop=ChatState.stop,
                streaming=ChatState.streaming,
                ready=ChatState.is_hydrated,
                paused=BillingState.asking_paused,
            ),
            page_preview(
                open_=ChatState.preview_open,
                on_open_change=ChatState.set_preview_open,
                url=ChatState.preview_url,
                title=ChatState.preview_title,
                caption=ChatState.preview_caption,
                zoomed=ChatState.preview_zoomed,
                on_zoom=ChatState.toggle_preview_zoom,
                focus_top=ChatState.preview_focus_top,
            ),
            spacing="4",
            width="100%",
            class_name="td-chat",
        ),
        active_route=ROUTE,
    )
