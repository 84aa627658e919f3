"""Cohere rerank (rerank-v3.5) with a hard deadline.

Failures are translated at this boundary, like every vendor's: a timeout (the client's or the
deadline's) raises `ProviderTimeout`, any other failure `ProviderError`, with a `detail` that
names the vendor. Reranking improves an answer but is never worth failing one: the answer
pipeline (`rag.answer`) then ranks by the search's fused order, logs it and counts it in
`techdocs_rerank_fallbacks_total{provider="cohere",reason}` (one place decides the fallback, and
an operator sees how often it happens).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import cohere
import httpx
from cohere.core.api_error import ApiError

from techdocs_app.errors import ProviderError, ProviderTimeout
from techdocs_app.providers.base import RerankCandidate, RerankResult
from techdocs_app.settings import Settings

MAX_DOC_CHARS = 4000


class CohereReranker:
    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str = "rerank-v3.5",
        timeout_s: float = 20.0,
    ) -> None:
        self.model = model
        self.name = f"cohere:{model}"
        self.timeout_s = timeout_s
        # base_url is always passed: the SDK otherwise reads CO_API_URL at import time.
        self._client = cohere.AsyncClientV2(
            api_key=api_key,
            base_url=base_url or "https://api.cohere.com",
            timeout=timeout_s,
            max_retries=0,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CohereReranker:
        assert settings.cohere_api_key is not None
        return cls(
            api_key=settings.cohere_api_key.get_secret_value(),
            base_url=settings.cohere_base_url or None,
            model=settings.cohere_rerank_model,
            # A reranker waiting longer than this is worse than the fused order.
            timeout_s=min(settings.provider_timeout_s, 10.0),
        )

    async def rerank(
        self, query: str, candidates: Sequence[RerankCandidate], top_n: int
    ) -> list[RerankResult]:
        """The best `top_n` candidates by Cohere's relevance score. Raises `ProviderTimeout` or
        `ProviderError` (never a vendor exception) when Cohere fails."""
        if not candidates or top_n <= 0:
            return []
        documents = [self._document(c) for c in candidates]
        try:
            response = await asyncio.wait_for(
                self._client.rerank(
                    model=self.model,
                    query=query,
                    documents=documents,
                    top_n=min(top_n, len(documents)),
                ),
                timeout=self.timeout_s,
            )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ProviderTimeout(
                detail=f"cohere rerank: no answer in {self.timeout_s:g} s"
            ) from exc
        except ApiError as exc:
            raise ProviderError(detail=f"cohere rerank: HTTP {exc.status_code}") from exc
        except Exception as exc:  # noqa: BLE001 - connection errors, malformed answers: translated
            raise ProviderError(detail=f"cohere rerank: {type(exc).__name__}") from exc
        results = [
            RerankResult(index=int(r.index), score=float(r.relevance_score))
            for r in response.results
            if 0 <= int(r.index) < len(candidates)
        ]
        if not results:
            raise ProviderError(detail="cohere rerank: no usable results")
        results.sort(key=lambda r: -r.score)
        return results[:top_n]

    @staticmethod
    def _document(candidate: RerankCandidate) -> str:
        head = " — ".join(p for p in (candidate.document_title, candidate.heading) if p)
        text = f"{head}\n{candidate.text}" if head else candidate.text
        return text[:MAX_DOC_CHARS]
