"""Chat page state.

Phase 1 holds only the transcript and the question form; the answer pipeline
(`rag.answer.ask`) is wired in by the answers work, in `submit_question`.
"""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from techdocs_app.errors import ValidationFailed
from techdocs_app.settings import get_settings
from techdocs_app.state.base import SIGN_IN_ROUTE, current_principal


@dataclass
class ChatTurn:
    role: str  # "user" | "assistant"
    content: str


def clean_question(raw: str | None) -> str:
    """Collapse whitespace; refuse empty or over-long questions with a message the user can act on."""
    question = " ".join((raw or "").split())
    if not question:
        raise ValidationFailed("Type a question about your manuals first.")
    limit = get_settings().max_question_chars
    if len(question) > limit:
        raise ValidationFailed(f"Keep your question under {limit:,} characters.")
    return question


class ChatState(rx.State):
    turns: list[ChatTurn] = []
    error: str = ""
    busy: bool = False

    @rx.event
    async def submit_question(self, form_data: dict[str, str]):
        self.error = ""
        try:
            question = clean_question(form_data.get("question"))
        except ValidationFailed as exc:
            self.error = exc.user_message
            return
        if await current_principal(self) is None:
            yield rx.redirect(SIGN_IN_ROUTE)
            return
        self.turns.append(ChatTurn(role="user", content=question))
