"""OpenAI embeddings (text-embedding-3-small asked for 384 dimensions, so one vector(384) column
serves both this and the local model; the two are never compared: `model_name` differs).

The SDK's own retries are off (`max_retries=0`): this module retries 429, 5xx and connection errors a
bounded number of times with exponential backoff (honouring a short `Retry-After`), and never retries
anything else. Calls are synchronous, like the `Embedder` protocol: async callers run them in a thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import openai

from techdocs_app.errors import ProviderError, ProviderTimeout
from techdocs_app.providers.base import EMBED_DIM
from techdocs_app.settings import Settings

log = logging.getLogger(__name__)

MAX_BATCH = 96
"""Texts per request: well under the API's limits (2048 inputs, 300k tokens) for 200-token chunks."""


class OpenAIEmbedder:
    dim = EMBED_DIM

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str = "text-embedding-3-small",
        timeout_s: float = 20.0,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        batch_size: int = MAX_BATCH,
    ) -> None:
        self.model = model
        self.model_name = f"openai:{model}@{EMBED_DIM}"
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self._client = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIEmbedder:
        assert settings.openai_api_key is not None
        return cls(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url or None,
            model=settings.openai_embed_model,
            timeout_s=settings.provider_timeout_s,
        )

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self._embed_batch(list(texts[start : start + self.batch_size])))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._embed_batch([text])[0]

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        # The API rejects empty strings.
        inputs = [t if t.strip() else " " for t in texts]
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._client.embeddings.create(
                    model=self.model, input=inputs, dimensions=EMBED_DIM
                )
            except openai.APITimeoutError as exc:
                if attempt >= self.max_attempts:
                    raise ProviderTimeout(
                        "The embedding service took too long to respond. Please try again.",
                        detail=f"openai embeddings timeout after {attempt} attempts",
                    ) from exc
                self._sleep_before_retry(attempt, None)
            except (openai.RateLimitError, openai.InternalServerError) as exc:
                if attempt >= self.max_attempts:
                    raise ProviderError(
                        "The embedding service is busy. Please try again in a minute.",
                        detail=f"openai embeddings HTTP {exc.status_code} after {attempt} attempts",
                    ) from exc
                self._sleep_before_retry(attempt, exc.response.headers.get("retry-after"))
            except openai.APIConnectionError as exc:
                if attempt >= self.max_attempts:
                    raise ProviderError(
                        "The embedding service could not be reached. Please try again later.",
                        detail=f"openai embeddings connection error after {attempt} attempts",
                    ) from exc
                self._sleep_before_retry(attempt, None)
            except openai.APIStatusError as exc:
                raise ProviderError(
                    "The embedding service refused the request. "
                    "Ask your administrator to check the OpenAI key and model settings.",
                    detail=f"openai embeddings HTTP {exc.status_code}",
                ) from exc
            except openai.OpenAIError as exc:
                raise ProviderError(
                    "The embedding service failed. Please try again.",
                    detail=f"openai embeddings: {type(exc).__name__}",
                ) from exc
            else:
                return self._vectors(response, len(inputs))

    def _vectors(self, response: object, expected: int) -> list[list[float]]:
        data = sorted(response.data, key=lambda item: item.index)  # type: ignore[attr-defined]
        vectors = [list(map(float, item.embedding)) for item in data]
        if len(vectors) != expected or any(len(v) != EMBED_DIM for v in vectors):
            raise ProviderError(
                "The embedding service returned an unexpected answer. Please try again.",
                detail=f"openai embeddings: {len(vectors)} vectors for {expected} inputs",
            )
        return vectors

    def _sleep_before_retry(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1)))
        if retry_after:
            try:
                delay = min(self.max_backoff_s, max(delay, float(retry_after)))
            except ValueError:
                pass
        log.warning("openai embeddings: retry %d in %.2fs", attempt, delay)
        time.sleep(delay)
