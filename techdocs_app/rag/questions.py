"""Question checks before any work: empty, too short, too long, or trying to change the rules."""

from __future__ import annotations

import re

from techdocs_app.errors import TechDocsError
from techdocs_app.settings import get_settings

_INJECTION_RE = re.compile(
    r"(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|above|previous)"
    r"|\b(system|developer)\s+(prompt|message|instructions?)\b"
    r"|\byou\s+are\s+now\b|\bact\s+as\s+(an?\s+)?(unrestricted|jailbroken|dan)\b"
    r"|\bjailbreak\b|</?\s*(system|instructions?)\s*>",
    re.IGNORECASE | re.DOTALL,
)


class QuestionRejected(TechDocsError):
    user_message = "Please ask a question about your manuals."

    def __init__(self, user_message: str, *, reason: str) -> None:
        super().__init__(user_message, detail=reason)
        self.reason = reason


def check_question(question: str | None) -> str:
    """The cleaned question, or QuestionRejected with a message saying what to do."""
    text = " ".join((question or "").split())
    limit = get_settings().max_question_chars
    if not text:
        raise QuestionRejected("Type a question about your manuals.", reason="empty")
    if len(text) < 2 or not any(ch.isalnum() for ch in text):
        raise QuestionRejected(
            "That question is too short. Ask about a spec, part number, fault code or procedure.",
            reason="too_short",
        )
    if len(text) > limit:
        raise QuestionRejected(
            f"That question is {len(text):,} characters long. Keep it under {limit:,} "
            "characters: ask about one thing and paste only the part of the text you need.",
            reason="too_long",
        )
    if _INJECTION_RE.search(text):
        raise QuestionRejected(
            "I can only answer questions about your manuals, and I can't change how I work. "
            "Ask about a spec, part number, fault code or procedure.",
            reason="injection",
        )
    return text
