"""Rerankers: the local lexical reranker on realistic passages, Cohere's SDK against the local fake."""

from __future__ import annotations

import dataclasses

import pytest

from techdocs_app.errors import ProviderError, ProviderTimeout
from techdocs_app.providers.base import RerankCandidate, Reranker
from techdocs_app.providers.cohere_rerank import CohereReranker
from techdocs_app.providers.local_rerank import LocalReranker, question_terms
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


# A datasheet's overview page shares the question's words ("supply", "current", the model name);
# the electrical table that answers it shares fewer but is the closest in meaning. Eight other
# pages of the same datasheet fill the candidate set, as the search returns ~20.
OVERVIEW = RerankCandidate(
    text="QSFP-100G-ER4L-A-FL quick spec: 100G ER4 lite, supply 3.3 V, low power consumption, "
    "supply current and power monitoring over the digital diagnostics interface.",
    heading="Quick Spec",
    document_title="QSFP-100G-ER4L-A-FL datasheet",
    identifiers=("QSFP-100G-ER4L-A-FL",),
    fused_score=0.20,
)
SUPPLY_TABLE = RerankCandidate(
    text="Power Supply Voltage | VCC | 3.135 | 3.3 | 3.465 | V\nSupply Current | Icc | | | 1.27 | A",
    heading="Electrical characteristics",
    document_title="QSFP-100G-ER4L-A-FL datasheet",
    fused_score=0.12,
)
OTHER_PAGES = [
    RerankCandidate(
        text=f"Page {n} of the datasheet: {topic}.",
        heading=topic,
        document_title="QSFP-100G-ER4L-A-FL datasheet",
        fused_score=0.05,
    )
    for n, topic in enumerate(
        [
            "optical transmitter wavelengths",
            "receiver sensitivity",
            "pin descriptions",
            "mechanical dimensions",
            "ordering information",
            "regulatory compliance",
            "eye safety",
            "revision history",
        ],
        start=3,
    )
]
SUPPLY_QUESTION = "What supply current does the QSFP-100G-ER4L-A-FL draw at most?"


def _with_similarities(
    candidates: list[RerankCandidate], similarities: list[float | None]
) -> list[RerankCandidate]:
    return [
        dataclasses.replace(c, similarity=s) for c, s in zip(candidates, similarities, strict=True)
    ]


async def test_local_reranker_similarity_breaks_a_near_tie_against_an_overview_page() -> None:
    reranker = LocalReranker()
    candidates = [OVERVIEW, SUPPLY_TABLE, *OTHER_PAGES]
    lexical = await reranker.rerank(SUPPLY_QUESTION, candidates, 10)
    assert [r.index for r in lexical[:2]] == [0, 1]  # the words favour the overview page

    # The table is the closest in meaning, the overview the farthest of the ten.
    similarities: list[float | None] = [0.30, 0.70, *[0.50 - 0.02 * n for n in range(8)]]
    semantic = await reranker.rerank(
        SUPPLY_QUESTION, _with_similarities(candidates, similarities), 10
    )
    assert [r.index for r in semantic[:2]] == [1, 0]
    assert [r.score for r in semantic] == sorted((r.score for r in semantic), reverse=True)
    # Below the top two the lexical order stands: similarity only breaks near-ties.
    assert [r.index for r in semantic[2:]] == [r.index for r in lexical[2:]]


async def test_local_reranker_similarity_cannot_lift_a_passage_without_the_words() -> None:
    reranker = LocalReranker()
    candidates = [OVERVIEW, SUPPLY_TABLE, *OTHER_PAGES]
    lexical = await reranker.rerank(SUPPLY_QUESTION, candidates, 10)
    weakest = lexical[-1].index
    similarities: list[float | None] = [0.5] * len(candidates)
    similarities[weakest] = 0.95  # the most similar passage shares none of the question's words
    semantic = await reranker.rerank(
        SUPPLY_QUESTION, _with_similarities(candidates, similarities), 10
    )
    assert [r.index for r in semantic[:2]] == [r.index for r in lexical[:2]]
    assert [r.index for r in semantic].index(weakest) >= 5


async def test_local_reranker_without_every_similarity_ranks_by_words_alone() -> None:
    reranker = LocalReranker()
    candidates = [OVERVIEW, SUPPLY_TABLE, *OTHER_PAGES]
    lexical = await reranker.rerank(SUPPLY_QUESTION, candidates, 10)
    # One candidate whose similarity the search did not give: the lexical scores, unchanged.
    similarities: list[float | None] = [0.30, 0.70, *[0.4] * 7, None]
    partial = await reranker.rerank(
        SUPPLY_QUESTION, _with_similarities(candidates, similarities), 10
    )
    assert partial == lexical


# A technician's words are not the manual's: 'temp' for 'temperature', 'psu' for 'power supply'.
SPEC_TABLE = RerankCandidate(
    text="Operating temperature range -10 to +50 C. Relative humidity up to 80 %.",
    heading="Technical specifications",
    document_title="Trikdis RT2",
    fused_score=0.010,
)
MODES_PAGE = RerankCandidate(
    text="Operating modes: the module reports the maximum of 8 buffered events per operating cycle.",
    heading="Operating modes",
    document_title="Trikdis RT2",
    fused_score=0.012,
)


async def test_local_reranker_credits_the_manuals_word_for_a_shop_word() -> None:
    """'temp' is written 'temperature' (`text.synonyms`): the specification table answers, not
    the page that shares more of the question's other words."""
    results = await LocalReranker().rerank(
        "max operating temp of the RT2?", [MODES_PAGE, SPEC_TABLE], 2
    )
    assert results[0].index == 1


async def test_local_reranker_equivalent_counts_less_than_the_word_itself() -> None:
    def passage(word: str) -> RerankCandidate:
        return RerankCandidate(text=f"Board {word} 45 C at full load.", fused_score=0.01)

    scores = LocalReranker().score(
        "board temp at full load", [passage("temp"), passage("temperature"), passage("humidity")]
    )
    exact, equivalent, neither = scores
    assert exact > equivalent > neither


async def test_local_reranker_equivalents_go_one_way() -> None:
    """A question's 'supply' may be the manual's 'power', but a question's 'power' is no
    manual's 'supply' (`text.synonyms`): that passage earns nothing for it."""

    def passage(word: str) -> RerankCandidate:
        return RerankCandidate(text=f"Module {word} rating 12 V nominal.", fused_score=0.01)

    candidates = [passage("supply"), passage("power"), passage("signal")]
    by_supply = LocalReranker().score("module supply rating", candidates)
    assert by_supply[0] > by_supply[1] > by_supply[2]
    by_power = LocalReranker().score("module power rating", candidates)
    assert by_power[1] > by_power[0] == by_power[2]


def test_question_terms_drop_contractions_and_the_measure_word() -> None:
    """Read as the evidence decision reads a question: no 's' of "it's" or "RL14's", no 't' or
    'doesn' of "doesn't", no 'long' of 'how long'."""
    found = question_terms(
        "how long before the RL14's battery is flat? it's pulled and doesn't run"
    )
    assert found[:3] == ["rl14", stem("battery"), "flat"]
    assert not {"s", "t", "doesn", "long"} & set(found)
    assert question_terms("How big is the SKR board?") == terms("How is the SKR board?")


async def test_local_reranker_contractions_and_how_long_lift_no_page() -> None:
    """The page that writes "customer's" and 'a long LAN cable' no longer outranks the one that
    says how long the receiver runs off the mains (both: the old reading ranked them the other
    way)."""
    rack = RerankCandidate(
        text="Mount the receiver in the customer's 19 inch rack and run a long LAN cable to the "
        "switch.",
        heading="Installation",
        document_title="trikdis rl14",
        fused_score=0.011,
    )
    battery = RerankCandidate(
        text="When the mains supply is lost, the receiver runs from the backup battery for up to "
        "8 hours.",
        heading="Power supply",
        document_title="trikdis rl14",
        fused_score=0.010,
    )
    results = await LocalReranker().rerank(
        "how long does the rl14 run once it's off the mains?", [rack, battery], 2
    )
    assert results[0].index == 1


async def test_local_reranker_short_model_name_lifts_no_page_of_its_manual() -> None:
    """'ender 3' names the manual titled 'ender3 reference data': every page of it holds the
    name, so the page that repeats it no longer beats the slicer table. Under a title that does
    not name the printer, the name is the page's own again and lifts it."""

    def pages(title: str) -> list[RerankCandidate]:
        return [
            RerankCandidate(
                text="Ender 3 printing: keep the first layer slow. Ender 3 Z offset.",
                heading="Reference data",
                document_title=title,
                fused_score=0.013,
            ),
            RerankCandidate(
                text="Skirt: minimum length 250 mm, 3 lines.",
                heading="Slicer settings",
                document_title=title,
                fused_score=0.010,
            ),
        ]

    question = "minimum skirt on the ender 3?"
    named = await LocalReranker().rerank(question, pages("ender3 reference data"), 2)
    assert named[0].index == 1
    unnamed = await LocalReranker().rerank(question, pages("creality printer notes"), 2)
    assert unnamed[0].index == 0


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


async def test_cohere_reranker_failure_is_a_provider_error(fake: FakeVendors) -> None:
    """The vendor's failure is translated at the boundary; the answer pipeline decides the
    fallback (and counts it: see tests/integration/test_rerank_fallback.py)."""
    fake.state.fail_next("rerank", 500)
    reranker = CohereReranker(api_key="co-test", base_url=fake.url, timeout_s=5)
    with pytest.raises(ProviderError) as failed:
        await reranker.rerank("glass cleaner", PASSAGES, 3)
    assert not isinstance(failed.value, ProviderTimeout)
    assert failed.value.detail == "cohere rerank: HTTP 500"
    assert len(fake.state.requests_to("rerank")) == 1  # no retries


async def test_cohere_reranker_timeout_is_a_provider_timeout(fake: FakeVendors) -> None:
    fake.state.delay_s["rerank"] = 2.0
    reranker = CohereReranker(api_key="co-test", base_url=fake.url, timeout_s=0.2)
    with pytest.raises(ProviderTimeout) as timed_out:
        await reranker.rerank("glass cleaner", PASSAGES, 4)
    assert timed_out.value.detail == "cohere rerank: no answer in 0.2 s"


async def test_cohere_reranker_unreachable_is_a_provider_error() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reranker = CohereReranker(api_key="co-test", base_url=f"http://127.0.0.1:{port}", timeout_s=2)
    with pytest.raises(ProviderError) as failed:
        await reranker.rerank("glass cleaner", PASSAGES, 2)
    assert failed.value.detail == "cohere rerank: ConnectError"
