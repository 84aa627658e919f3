"""Claude answers, streamed from the Messages API.

The SDK's retries are off: a retried stream would repeat tokens the user already saw, and the
pipeline has its own deadline. Vendor errors become ProviderError/ProviderTimeout with a message
the user can act on; `str(exc)` stays in the logs.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

import anthropic

from techdocs_app.errors import ProviderError, ProviderTimeout
from techdocs_app.providers.base import AnswerStreamInfo, SourcePassage, Turn
from techdocs_app.providers.prompts import ANSWER_SYSTEM_PROMPT, answer_messages
from techdocs_app.settings import Settings

log = logging.getLogger(__name__)

OVERLOADED_MESSAGE = "The answer service is overloaded right now. Please try again in a minute."
FAILED_MESSAGE = "The answer service failed while answering. Please try again."
REFUSED_MESSAGE = (
    "The answer service refused the request. Ask your administrator to check the Anthropic key "
    "and model settings."
)


def vendor_error(exc: Exception, what: str) -> ProviderError:
    """Translate an anthropic SDK exception into our tree."""
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderTimeout(detail=f"anthropic {what}: timeout")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        kind = ""
        body = exc.body
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict):
                kind = str(error.get("type", ""))
        if status == 529 or kind == "overloaded_error" or status == 429:
            return ProviderError(OVERLOADED_MESSAGE, detail=f"anthropic {what}: {status} {kind}")
        if status in (400, 401, 403, 404):
            return ProviderError(REFUSED_MESSAGE, detail=f"anthropic {what}: {status} {kind}")
        return ProviderError(FAILED_MESSAGE, detail=f"anthropic {what}: {status} {kind}")
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderError(
            "The answer service could not be reached. Please try again in a moment.",
            detail=f"anthropic {what}: connection error",
        )
    return ProviderError(FAILED_MESSAGE, detail=f"anthropic {what}: {type(exc).__name__}")


class ClaudeAnswerer:
    offline = False

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str = "claude-sonnet-5-5",
        timeout_s: float = 20.0,
        max_tokens: int = 1024,
        history_turns: int = 5,
    ) -> None:
        self.model = model
        self.name = f"anthropic:{model}"
        self.max_tokens = max_tokens
        self.history_turns = history_turns
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_s
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ClaudeAnswerer:
        assert settings.anthropic_api_key is not None
        return cls(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url or None,
            model=settings.anthropic_model,
            timeout_s=settings.provider_timeout_s,
            history_turns=settings.memory_turns,
        )

    async def stream_answer(
        self,
        *,
        question: str,
        sources: Sequence[SourcePassage],
        history: Sequence[Turn],
        info: AnswerStreamInfo | None = None,
    ) -> AsyncIterator[str]:
        info = info if info is not None else AnswerStreamInfo()
        info.model = self.model
        messages = answer_messages(
            question=question, sources=sources, history=history, max_turns=self.history_turns
        )
        try:
            async with self._client.messages.stream(
                model=self.model,
                max_tokens=self.max_tokens,
                system=ANSWER_SYSTEM_PROMPT,
                messages=messages,  # type: ignore[arg-type]
            ) as stream:
                async for event in stream:
                    if event.type == "message_start":
                        info.model = event.message.model or self.model
                    elif event.type == "message_delta":
                        info.output_tokens = event.usage.output_tokens
                        info.extra["stop_reason"] = event.delta.stop_reason
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        if event.delta.text:
                            yield event.delta.text
        except anthropic.AnthropicError as exc:
            log.warning("anthropic answer failed: %s", exc)
            raise vendor_error(exc, "answer") from exc
        except Exception as exc:  # noqa: BLE001 - transport errors raised while reading the stream
            log.warning("anthropic answer stream broke: %r", exc)
            if "timeout" in type(exc).__name__.lower():
                raise ProviderTimeout(detail="anthropic answer: read timeout") from exc
            raise ProviderError(
                FAILED_MESSAGE, detail=f"anthropic answer: {type(exc).__name__}"
            ) from exc
        if info.extra.get("stop_reason") == "max_tokens":
            log.info("anthropic answer hit max_tokens (%d)", self.max_tokens)
