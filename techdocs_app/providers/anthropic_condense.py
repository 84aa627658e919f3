"""Claude rewrites follow-ups into standalone search queries; the local rules take over on failure.

A short non-streaming call. Without history there is nothing to resolve and no call is made. Any
vendor error, timeout or implausible reply (empty, several paragraphs) falls back to the offline
condenser, so a condenser problem never costs an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import anthropic

from techdocs_app.providers.base import Turn
from techdocs_app.providers.local_condense import condense_locally
from techdocs_app.providers.prompts import CONDENSE_SYSTEM_PROMPT, condense_messages
from techdocs_app.settings import Settings

log = logging.getLogger(__name__)

MAX_REWRITE_CHARS = 600


class ClaudeCondenser:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str = "claude-sonnet-5-5",
        timeout_s: float = 8.0,
        history_turns: int = 5,
    ) -> None:
        self.model = model
        self.name = f"anthropic:{model}"
        self.timeout_s = timeout_s
        self.history_turns = history_turns
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ClaudeCondenser:
        assert settings.anthropic_api_key is not None
        return cls(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url or None,
            model=settings.anthropic_model,
            # Condensing is on the critical path before retrieval: keep its deadline short.
            timeout_s=min(settings.provider_timeout_s, 8.0),
            history_turns=settings.memory_turns,
        )

    async def condense(self, *, question: str, history: Sequence[Turn]) -> str:
        question = " ".join(question.split())
        if not history or not question:
            return question
        try:
            message = await asyncio.wait_for(
                self._client.messages.create(
                    model=self.model,
                    max_tokens=200,
                    system=CONDENSE_SYSTEM_PROMPT,
                    messages=condense_messages(  # type: ignore[arg-type]
                        question=question, history=history, max_turns=self.history_turns
                    ),
                ),
                timeout=self.timeout_s + 1,
            )
            text = "".join(block.text for block in message.content if block.type == "text")
            rewritten = self._clean(text)
        except Exception as exc:  # noqa: BLE001 - any failure: the offline rules answer instead
            log.warning("anthropic condense failed (%s); using local rules", type(exc).__name__)
            return condense_locally(question, history)
        if rewritten is None:
            log.warning("anthropic condense gave an unusable rewrite; using local rules")
            return condense_locally(question, history)
        return rewritten

    @staticmethod
    def _clean(text: str) -> str | None:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if not lines:
            return None
        rewritten = lines[0]
        for prefix in ("standalone question:", "rewritten question:", "query:"):
            if rewritten.lower().startswith(prefix):
                rewritten = rewritten[len(prefix) :].strip()
        rewritten = rewritten.strip("\"'“”‘’ ").strip()
        if not rewritten or len(rewritten) > MAX_REWRITE_CHARS:
            return None
        return rewritten
