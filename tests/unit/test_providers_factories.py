"""The factories choose vendor vs local from settings, once per process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from techdocs_app import providers
from techdocs_app.providers.anthropic_answer import ClaudeAnswerer
from techdocs_app.providers.anthropic_condense import ClaudeCondenser
from techdocs_app.providers.cohere_rerank import CohereReranker
from techdocs_app.providers.local_answer import ExtractiveAnswerer
from techdocs_app.providers.local_condense import LocalCondenser
from techdocs_app.providers.local_embed import LocalEmbedder
from techdocs_app.providers.local_rerank import LocalReranker
from techdocs_app.providers.openai_embed import OpenAIEmbedder
from techdocs_app.settings import get_settings

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "COHERE_API_KEY")


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for key in KEYS:
        monkeypatch.setenv(key, "")  # empty beats a developer's .env
    get_settings.cache_clear()
    providers.reset_providers()
    yield monkeypatch
    get_settings.cache_clear()
    providers.reset_providers()


def test_defaults_are_local_and_cached(fresh: pytest.MonkeyPatch) -> None:
    assert isinstance(providers.get_embedder(), LocalEmbedder)
    assert isinstance(providers.get_reranker(), LocalReranker)
    assert isinstance(providers.get_answerer(), ExtractiveAnswerer)
    assert isinstance(providers.get_condenser(), LocalCondenser)
    assert providers.get_embedder() is providers.get_embedder()


def test_keys_select_vendors_with_base_urls(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("OPENAI_API_KEY", "sk-x")
    fresh.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    fresh.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    fresh.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    fresh.setenv("ANTHROPIC_MODEL", "claude-x")
    fresh.setenv("COHERE_API_KEY", "co-x")
    fresh.setenv("COHERE_BASE_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    providers.reset_providers()

    embedder = providers.get_embedder()
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.model_name == "openai:text-embedding-3-small@384"
    assert str(embedder._client.base_url).startswith("http://127.0.0.1:9/v1")
    reranker = providers.get_reranker()
    assert isinstance(reranker, CohereReranker) and reranker.name == "cohere:rerank-v3.5"
    answerer = providers.get_answerer()
    assert isinstance(answerer, ClaudeAnswerer) and not answerer.offline
    assert answerer.model == "claude-x"
    assert str(answerer._client.base_url).startswith("http://127.0.0.1:9")
    assert isinstance(providers.get_condenser(), ClaudeCondenser)
