"""The one place that chooses each provider: a vendor key in settings selects the vendor (with its
base URL when one is set), otherwise the embedded offline default runs.

Each factory returns one instance per process. Vendor modules (and their SDKs) are imported only when
their key is set. `reset_providers()` forgets the cached choices (tests change settings).
"""

from __future__ import annotations

from functools import lru_cache

from techdocs_app.providers.base import Answerer, Condenser, Embedder, Reranker
from techdocs_app.settings import get_settings

__all__ = [
    "get_answerer",
    "get_condenser",
    "get_embedder",
    "get_reranker",
    "reset_providers",
]


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    settings = get_settings()
    if settings.openai_api_key is not None and settings.openai_api_key.get_secret_value():
        from techdocs_app.providers.openai_embed import OpenAIEmbedder

        return OpenAIEmbedder.from_settings(settings)
    from techdocs_app.providers.local_embed import LocalEmbedder

    return LocalEmbedder()


@lru_cache(maxsize=1)
def get_reranker() -> Reranker:
    settings = get_settings()
    if settings.cohere_api_key is not None and settings.cohere_api_key.get_secret_value():
        from techdocs_app.providers.cohere_rerank import CohereReranker

        return CohereReranker.from_settings(settings)
    from techdocs_app.providers.local_rerank import LocalReranker

    return LocalReranker()


@lru_cache(maxsize=1)
def get_answerer() -> Answerer:
    settings = get_settings()
    if settings.anthropic_api_key is not None and settings.anthropic_api_key.get_secret_value():
        from techdocs_app.providers.anthropic_answer import ClaudeAnswerer

        return ClaudeAnswerer.from_settings(settings)
    from techdocs_app.providers.local_answer import ExtractiveAnswerer

    return ExtractiveAnswerer()


@lru_cache(maxsize=1)
def get_condenser() -> Condenser:
    settings = get_settings()
    if settings.anthropic_api_key is not None and settings.anthropic_api_key.get_secret_value():
        from techdocs_app.providers.anthropic_condense import ClaudeCondenser

        return ClaudeCondenser.from_settings(settings)
    from techdocs_app.providers.local_condense import LocalCondenser

    return LocalCondenser()


def reset_providers() -> None:
    """Forget the cached providers so the next call re-reads settings."""
    for factory in (get_embedder, get_reranker, get_answerer, get_condenser):
        factory.cache_clear()


def warm_up_providers() -> None:
    """Load models before the first question (app start): the first answer must not pay for it.

    Called in a thread at app start; never in a process that will fork workers afterwards.
    """
    embedder = get_embedder()
    embedder.embed_query("warm up")
    get_reranker()
    get_answerer()
    get_condenser()
