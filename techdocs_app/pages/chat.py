"""/ : ask questions about the shop's manuals."""

from __future__ import annotations

import reflex as rx

from techdocs_app.components.forms import form_error
from techdocs_app.components.shell import app_shell
from techdocs_app.state.base import SessionState
from techdocs_app.state.chat import ChatState, ChatTurn

ROUTE = "/"
TITLE = "Chat · TechDocs AI"


def _turn(turn: ChatTurn) -> rx.Component:
    return rx.box(
        rx.text(turn.content, size="3"),
        class_name=rx.cond(turn.role == "user", "td-turn td-turn-user", "td-turn"),
    )


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
        align="center",
        spacing="2",
        class_name="td-empty",
    )


def _question_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.el.label("Question", html_for="chat-question", class_name="td-visually-hidden"),
            rx.input(
                id="chat-question",
                name="question",
                placeholder="Ask about your manuals",
                auto_complete="off",
                size="3",
                flex="1",
                min_width="0",
            ),
            rx.button(
                rx.icon("send", size=18),
                "Send",
                type="submit",
                size="3",
                loading=ChatState.busy,
                class_name="td-touch",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=ChatState.submit_question,
        reset_on_submit=True,
        width="100%",
    )


def chat_page() -> rx.Component:
    return app_shell(
        rx.vstack(
            rx.cond(
                ChatState.turns.length() > 0,
                rx.vstack(rx.foreach(ChatState.turns, _turn), spacing="3", width="100%"),
                _empty_chat(),
            ),
            form_error(ChatState.error),
            _question_form(),
            spacing="4",
            width="100%",
            class_name="td-chat",
        ),
        active_route=ROUTE,
        ready=SessionState.signed_in,
        org_name=SessionState.org_name,
        user_email=SessionState.user_email,
        on_sign_out=SessionState.sign_out,
    )
