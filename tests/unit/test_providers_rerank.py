"""Rerankers: the local lexical reranker on realistic passages, Cohere's SDK against the local fake."""

from __future__ import annotations

import logging

import pytest

from techdocs_app.providers.base import RerankCandidate, Reranker
from techdocs_app.providers.cohere_rerank import CohereReranker
from techdocs_app.providers.local_rerank import LocalReranker
from techdocs_app.text.identifiers import find_identifiers
from techdocs_app.text.words import stem, terms
from tests.fakes.vendors import FakeVendors

PASSAGES = [
    RerankCandidate(
        text="The module is powered from the receiver. Permissible supply voltage 11-15 V; "
        "current not exceeding 150 mA.",
        heading="Technical specifications",
        document_title="Trikdis RT2",
        fused_score=0.010,
    ),
    RerankCandidate(
        text="Service message codes: 20 TEL LINE ERROR - telephone line failure or disconnection.",
        heading="Service messages",
        document_title="Trikdis RT2",
        fused_score=0.016,
    ),
    RerankCandidate(
        text="Clean the print surface with glass cleaner or isopropyl alcohol before every print.",
        heading="Maintenance",
        document_title="Ender 3 quick start",
        fused_score=0.014,
    ),
    RerankCandidate(
        text="Pin 31 LVTTL-I LPMode: low power mode. Pin 32 Ground.",
        heading="Pin descriptions",
        document_title="QSFP-100G-ER4L-A-FL",
        identifiers=("QSFP-100G-ER4L-A-FL",),
        fused_score=0.012,
    ),
]


def test_text_helpers() -> None:
    assert stem("pins") == stem("pin")
    assert stem("lacing") == stem("lace")
    assert stem("class") == "class"
    found = terms("Which pin of the QSFP-100G-ER4L-A-FL is LPMode?")
    assert "qsfp-100g-er4l-a-fl" in found and "er4l" in found and stem("lpmode") in found
    assert "which" not in found and "the" not in found
    assert "QSFP100GER4LAFL" in find_identifiers("Which pin of the QSFP-100G-ER4L-A-FL is LPMode?")


async def test_local_reranker_puts_the_answering_passage_first() -> None:
    reranker = LocalReranker()
    assert isinstance(reranker, Reranker)
    cases = {
        "What supply voltage and maximum current does the RT2 accept?": 0,
        "What does service code 20 mean on the RT2?": 1,
        "What should I clean the print surface with?": 2,
        "Which pin of the QSFP-100G-ER4L-A-FL is LPMode?": 3,
    }
    for query, expected in cases.items():
        results = await reranker.rerank(query, PASSAGES, 4)
        assert results[0].index == expected, query
        assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
        assert sorted(r.index for r in results) == [0, 1, 2, 3]


async def test_local_reranker_deterministic_top_n_and_empty() -> None:
    reranker = LocalReranker()
    query = "RT2 telephone line failure"
    first = await reranker.rerank(query, PASSAGES, 2)
    assert first == await reranker.rerank(query, PASSAGES, 2)
    assert len(first) == 2
    assert await reranker.rerank(query, [], 5) == []


async def test_local_reranker_exact_identifier_beats_near_miss() -> None:
    candidates = [
        RerankCandidate(text="QSFP-100G-ER4L-A-EXT-FL operating case temperature -5 C to +85 C."),
        RerankCandidate(
            text="QSFP-100G-ER4L-A-IND-FL operating case temperature -20 C to +85 C.",
            identifiers=("QSFP-100G-ER4L-A-IND-FL",),
        ),
    ]
    results = await LocalReranker().rerank(
        "temperature range of the QSFP-100G-ER4L-A-IND-FL", candidates, 2
    )
    assert results[0].index == 1


async def test_local_reranker_uses_order_when_no_fused_scores() -> None:
    same = [RerankCandidate(text="identical passage about bearings") for _ in range(3)]
    results = await LocalReranker().rerank("bearing", same, 3)
    assert [r.index for r in results] == [0, 1, 2]


async def test_cohere_reranker_success(fake: FakeVendors) -> None:
    reranker = CohereReranker(api_key="co-test", base_url=fake.url, timeout_s=5)
    assert isinstance(reranker, Reranker)
    results = await reranker.rerank("glass cleaner isopropyl alcohol print surface", PASSAGES, 2)
    assert results[0].index == 2
    assert len(results) == 2
    (call,) = fake.state.requests_to("rerank")
    assert call.body["model"] == "rerank-v3.5"
    assert call.body["top_n"] == 2
    assert len(call.body["documents"]) == 4
    assert call.body["documents"][3].startswith("QSFP-100G-ER4L-A-FL — Pin descriptions\n")
    assert call.headers["authorization"] == "Bearer co-test"


async def test_cohere_reranker_falls_back_to_fused_order_on_500(
    fake: FakeVendors, caplog: pytest.LogCaptureFixture
) -> None:
    fake.state.fail_next("rerank", 500)
    reranker = CohereReranker(api_key="co-test", base_url=fake.url, timeout_s=5)
    with caplog.at_level(logging.WARNING):
        results = await reranker.rerank("glass cleaner", PASSAGES, 3)
    assert [r.index for r in results] == [1, 2, 3]  # by fused_score
    assert "fused order" in caplog.text
    assert len(fake.state.requests_to("rerank")) == 1  # no retries


async def test_cohere_reranker_falls_back_on_timeout(fake: FakeVendors) -> None:
    fake.state.delay_s["rerank"] = 2.0
    reranker = CohereReranker(api_key="co-test", base_url=fake.url, timeout_s=0.2)
    results = await reranker.rerank("glass cleaner", PASSAGES, 4)
    assert [r.index for r in results] == [1, 2, 3, 0]
