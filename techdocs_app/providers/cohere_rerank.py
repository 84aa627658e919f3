"""Cohere rerank (rerank-v3.5) with a hard deadline.

Reranking improves an answer but is never worth failing one: on any error or timeout this reranker
logs a warning and returns the candidates in their fused retrieval order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import cohere

from techdocs_app.providers.base import RerankCandidate, RerankResult
from techdocs_app.settings import Settings

log = logging.getLogger(__name__)

MAX_DOC_CHARS = 4000


def fused_order(candidates: Sequence[RerankCandidate], top_n: int) -> list[RerankResult]:
    """The retrieval order: by fused score, ties (and unscored lists) in the order given."""
    order = sorted(range(len(candidates)), key=lambda i: (-candidates[i].fused_score, i))
    return [RerankResult(index=i, score=candidates[i].fused_score) for i in order[: max(0, top_n)]]


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
            results = [
                RerankResult(index=int(r.index), score=float(r.relevance_score))
                for r in response.results
                if 0 <= int(r.index) < len(candidates)
            ]
            if not results:
                raise ValueError("empty rerank results")
        except Exception as exc:  # noqa: BLE001 - any failure falls back to the fused order
            log.warning("cohere rerank failed (%s); using the fused order", type(exc).__name__)
            return fused_order(candidates, top_n)
        results.sort(key=lambda r: -r.score)
        return results[:top_n]

    @staticmethod
    def _document(candidate: RerankCandidate) -> str:
        head = " — ".join(p for p in (candidate.document_title, candidate.heading) if p)
        text = f"{head}\n{candidate.text}" if head else candidate.text
        return text[:MAX_DOC_CHARS]
