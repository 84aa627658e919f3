"""Conversation memory in the real Redis: last N turns, TTL, namespacing, Postgres fallback, and
answers that keep working when Redis is unreachable."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.integration.test_answer_flow import collect, ingest

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_redis(db):  # noqa: ANN001, ANN201
    from techdocs_app import cache

    cache.reset_redis()
    yield db
    cache.reset_redis()


def _turn(i: int) -> Any:
    from techdocs_app.providers.base import Turn

    return Turn(question=f"q{i}", answer=f"a{i}", standalone_query=f"s{i}", document_ids=(i,))


def test_memory_keeps_the_last_turns_with_a_ttl(fresh_redis, redis_client) -> None:  # noqa: ANN001
    from techdocs_app import memory
    from techdocs_app.settings import get_settings

    settings = get_settings()
    for i in range(settings.memory_turns + 2):
        assert memory.remember_turn(org_id=1, conversation_id=10, turn=_turn(i))
    turns = memory.redis_turns(org_id=1, conversation_id=10)
    assert turns is not None
    assert [t.question for t in turns] == [f"q{i}" for i in range(2, settings.memory_turns + 2)]
    assert turns[-1].document_ids == (settings.memory_turns + 1,)
    key = memory.memory_key(org_id=1, conversation_id=10)
    assert redis_client.llen(key) == settings.memory_turns
    assert 0 < redis_client.ttl(key) <= settings.memory_ttl_s
    # Namespaced by organization and conversation.
    assert memory.redis_turns(org_id=2, conversation_id=10) is None
    assert memory.redis_turns(org_id=1, conversation_id=11) is None
    redis_client.expire(key, 1)
    redis_client.delete(key)
    assert memory.redis_turns(org_id=1, conversation_id=10) is None


async def test_memory_falls_back_to_postgres_and_reprimes_redis(  # noqa: ANN001
    fresh_redis, make_org, corpus_dir, redis_client
) -> None:
    from techdocs_app import memory

    shop = make_org("Fallback")
    ingest(shop, corpus_dir)
    events = await collect(shop, "What is the power budget of the TS2017-S31C-SO?")
    conversation_id = events[0].conversation_id
    key = memory.memory_key(org_id=shop.org_id, conversation_id=conversation_id)
    assert redis_client.llen(key) == 1
    redis_client.delete(key)  # as if the TTL had expired
    turns = memory.recent_turns(org_id=shop.org_id, conversation_id=conversation_id)
    assert [t.question for t in turns] == ["What is the power budget of the TS2017-S31C-SO?"]
    assert turns[0].answer == events[-1].answer
    assert turns[0].document_ids  # from the saved sources
    assert redis_client.llen(key) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_answers_work_without_redis(  # noqa: ANN001
    fresh_redis, make_org, corpus_dir, monkeypatch
) -> None:
    from techdocs_app import cache, memory
    from techdocs_app.rag.answer import Done
    from techdocs_app.settings import get_settings

    shop = make_org("No Redis")
    ingest(shop, corpus_dir)
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    get_settings.cache_clear()
    cache.reset_redis()
    try:
        first = await collect(shop, "What is the power budget and reach of the TS2017-S31C-SO?")
        assert isinstance(first[-1], Done) and not first[-1].not_found
        assert cache.get_redis() is None  # marked down after the first failed connect
        conversation_id = first[0].conversation_id
        # Memory comes from Postgres, so the follow-up is still condensed with context.
        turns = memory.recent_turns(org_id=shop.org_id, conversation_id=conversation_id)
        assert len(turns) == 1
        second = await collect(
            shop, "Where does it assert and clear LOS?", conversation_id=conversation_id
        )
        assert isinstance(second[-1], Done) and not second[-1].cache_hit
        assert "TS2017" in second[0].standalone_query.upper()
        # Asking again cannot hit a cache that does not exist.
        again = await collect(shop, "What is the power budget and reach of the TS2017-S31C-SO?")
        assert isinstance(again[-1], Done) and not again[-1].cache_hit
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        cache.reset_redis()
