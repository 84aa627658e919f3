"""The answer and query-embedding caches in the real Redis: hits, index-version invalidation,
per-organization isolation, document filters."""

from __future__ import annotations

import pytest

from tests.integration.test_answer_flow import collect, ingest, query_logs

pytestmark = pytest.mark.integration

QUESTION = "What is the power budget and reach of the TS2017-S31C-SO?"


@pytest.fixture
def fresh_redis(db):  # noqa: ANN001, ANN201
    from techdocs_app import cache

    cache.reset_redis()
    yield db
    cache.reset_redis()


async def test_second_ask_is_a_cache_hit_until_the_index_changes(  # noqa: ANN001
    fresh_redis, make_org, corpus_dir, redis_client
) -> None:
    from techdocs_app.db import accounts
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.rag.answer import Done, Sources

    shop = make_org("Cached")
    ingest(shop, corpus_dir)
    first = await collect(shop, QUESTION)
    assert not first[-1].cache_hit
    # Another wording of the same normalised query, in a new conversation.
    second = await collect(shop, "  what is the power budget and reach   of the ts2017-s31c-so ")
    done = second[-1]
    assert isinstance(done, Done) and done.cache_hit
    assert done.answer == first[-1].answer and done.citations == first[-1].citations
    assert isinstance(second[1], Sources) and second[1].sources == first[1].sources
    assert second[0].conversation_id != first[0].conversation_id
    assert "embed" not in done.timings and "search" not in done.timings
    logs = query_logs(shop.org_id)
    assert [log.cache_hit for log in logs] == [True, False]

    keys = sorted(k.decode() for k in redis_client.scan_iter("td:ans:*"))
    assert keys and all(k.startswith(f"td:ans:{shop.org_id}:") for k in keys)

    with system_session_scope() as session:
        accounts.bump_index_version(session, org_id=shop.org_id)
    third = await collect(shop, QUESTION)
    assert not third[-1].cache_hit
    # The embedding of the query was cached by the first ask and survives index changes.
    assert "embed" in third[-1].timings


async def test_answer_caches_are_per_organization_and_per_filter(  # noqa: ANN001
    fresh_redis, make_org, corpus_dir
) -> None:
    from techdocs_app.db import accounts
    from techdocs_app.db.engine import system_session_scope

    a = make_org("Shop A")
    b = make_org("Shop B")
    a_doc = ingest(a, corpus_dir)
    first = await collect(a, QUESTION)
    assert not first[-1].not_found
    # Shop B has no manuals: it must not receive shop A's cached answer.
    other = await collect(b, QUESTION)
    assert not other[-1].cache_hit and other[-1].not_found
    # Even with A's document id as its filter.
    filtered = await collect(b, QUESTION, document_ids=[a_doc])
    assert not filtered[-1].cache_hit and filtered[-1].not_found and filtered[1].sources == []
    # A with an explicit filter is another cache entry.
    a_filtered = await collect(a, QUESTION, document_ids=[a_doc])
    assert not a_filtered[-1].cache_hit
    assert (await collect(a, QUESTION, document_ids=[a_doc]))[-1].cache_hit
    # An ingest in B bumps only B's version: A's cached answer still serves.
    with system_session_scope() as session:
        accounts.bump_index_version(session, org_id=b.org_id)
    assert (await collect(a, QUESTION))[-1].cache_hit
