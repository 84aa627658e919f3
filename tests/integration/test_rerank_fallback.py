"""Cohere failing or stalling: the answer still arrives, ranked in the search's fused order, and
`techdocs_rerank_fallbacks_total{provider,reason}` counts it on `/metrics`.

The real `cohere` SDK talks to the local wire fake (tests/fakes/vendors.py), steered to fail or
stall; the metrics are read through the app's own `/metrics` route.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.conftest import _reset_settings_caches
from tests.fakes.vendors import FakeVendors, running_fake_vendors
from tests.integration.test_answer_flow import SMARTOPTICS, collect, ingest
from tests.integration.test_cache_answers import _forget_answers

pytestmark = pytest.mark.integration

TOKEN = "metrics-token-for-rerank-tests-0123"
QUESTION = "What is the power budget and reach of the TS2017-S31C-SO?"
FALLBACKS = "techdocs_rerank_fallbacks_total"


@pytest.fixture
def cohere_fake(db: dict[str, str]) -> Iterator[FakeVendors]:
    """Cohere configured against the fake (the other providers stay local), its deadline 1 s."""
    from techdocs_app import cache

    saved = {
        k: os.environ.get(k) for k in ("COHERE_API_KEY", "COHERE_BASE_URL", "PROVIDER_TIMEOUT_S")
    }
    with running_fake_vendors() as fake:
        os.environ.update(
            {"COHERE_API_KEY": "co-test", "COHERE_BASE_URL": fake.url, "PROVIDER_TIMEOUT_S": "1"}
        )
        os.environ["METRICS_TOKEN"] = TOKEN
        _reset_settings_caches()
        cache.reset_redis()
        try:
            yield fake
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            os.environ.pop("METRICS_TOKEN", None)
            _reset_settings_caches()


def _fallbacks() -> dict[str, float]:
    """The counter by reason, scraped from the app's `/metrics` route."""
    from techdocs_app.api import api

    with TestClient(api, base_url="http://testserver") as client:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    counts = {"timeout": 0.0, "error": 0.0}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == FALLBACKS:
                assert sample.labels["provider"] == "cohere", sample.labels
                counts[sample.labels["reason"]] += sample.value
    return counts


def _fused_order(principal: Any, query: str) -> list[int]:
    """The chunks hybrid_search returns for `query`, in its fused order."""
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.retrieve import hybrid_search
    from techdocs_app.settings import get_settings

    embedder = get_embedder()
    hits = hybrid_search(
        org_id=principal.org_id,
        query=query,
        query_vector=embedder.embed_query(query),
        document_ids=None,
        k=get_settings().retrieval_top_k,
        embed_model=embedder.model_name,
    )
    return [h.chunk_id for h in hits]


async def _answer(principal: Any, question: str, **kwargs: Any) -> tuple[list[Any], Any]:
    from techdocs_app.rag.answer import AnswerTrace, Done

    trace = AnswerTrace()
    events = await collect(principal, question, trace=trace, **kwargs)
    assert isinstance(events[-1], Done), events[-1]
    return events, trace


def _ranked(trace: Any) -> list[int]:
    return [r["chunk_id"] for r in trace.ranked]


@pytest.mark.parametrize(
    ("reason", "steer"),
    [
        ("error", lambda fake: fake.state.fail_next("rerank", 500)),
        ("timeout", lambda fake: fake.state.delay_s.__setitem__("rerank", 3.0)),
    ],
)
async def test_a_failed_cohere_call_answers_in_fused_order_and_is_counted(  # noqa: ANN001
    cohere_fake, make_org, corpus_dir, redis_client, reason, steer
) -> None:
    shop = make_org(f"Cohere {reason}")
    ingest(shop, corpus_dir)
    fused = _fused_order(shop, QUESTION)

    # Cohere answering: its order, not the fused one.
    _, healthy = await _answer(shop, QUESTION)
    assert len(cohere_fake.state.requests_to("rerank")) == 1
    assert _ranked(healthy) != fused[: len(healthy.ranked)]

    _forget_answers(redis_client)
    before = _fallbacks()
    steer(cohere_fake)
    events, trace = await _answer(shop, QUESTION)
    after = _fallbacks()

    assert len(cohere_fake.state.requests_to("rerank")) == 2  # Cohere was really asked
    done = events[-1]
    assert not done.cache_hit and done.answer.strip() and not done.not_found
    assert _ranked(trace) == fused[: len(trace.ranked)]  # the search's fused order
    sources = events[1].sources
    assert [s.chunk_id for s in sources] == fused[: len(sources)]
    other = "timeout" if reason == "error" else "error"
    assert after[reason] - before[reason] == 1
    assert after[other] == before[other]


FOLLOW_UP = "and the LOS thresholds?"


async def test_a_followups_three_cohere_calls_and_one_failing(  # noqa: ANN001
    cohere_fake, make_org, corpus_dir, redis_client
) -> None:
    """A follow-up is ranked by three wordings, one Cohere call each, at once; one failing
    leaves the other two to rank it, and is counted once."""
    shop = make_org("Cohere follow-ups")
    ingest(shop, corpus_dir)
    ingest(shop, corpus_dir, "trikdis_rt2.pdf")

    async def followup() -> tuple[list[Any], Any, list[Any]]:
        first, _ = await _answer(shop, QUESTION)
        asked = len(cohere_fake.state.requests_to("rerank"))
        events, trace = await _answer(shop, FOLLOW_UP, conversation_id=first[0].conversation_id)
        return events, trace, cohere_fake.state.requests_to("rerank")[asked:]

    events, trace, calls = await followup()
    standalone = events[0].standalone_query
    assert standalone != FOLLOW_UP and "TS2017" in standalone
    queries = [call.body["query"] for call in calls]
    assert len(calls) == 3 and len(set(queries)) == 3  # every wording went to Cohere
    assert standalone in queries and any(q.startswith(FOLLOW_UP) for q in queries)
    documents = {len(call.body["documents"]) for call in calls}
    assert len(documents) == 1 and {call.body["top_n"] for call in calls} == documents
    healthy = _ranked(trace)
    assert Path(trace.ranked[0]["filename"]).name == SMARTOPTICS

    _forget_answers(redis_client)
    before = _fallbacks()
    cohere_fake.state.fail_next("rerank", 500)
    events, trace, calls = await followup()
    after = _fallbacks()
    assert len(calls) == 3 and {c.body["query"] for c in calls} == set(queries)
    assert after["error"] - before["error"] == 1 and after["timeout"] == before["timeout"]
    done = events[-1]
    assert not done.cache_hit and done.answer.strip() and events[1].sources
    assert events[0].standalone_query == standalone
    # The two wordings that answered (and the failed one's fused order) still rank it.
    assert Path(trace.ranked[0]["filename"]).name == SMARTOPTICS
    assert len(trace.ranked) == len(healthy)
