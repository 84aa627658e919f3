"""Ranking a follow-up (`rag.followup`): its wordings, the score fusion and the merged pool."""

from __future__ import annotations

import asyncio

from techdocs_app.providers.base import RerankCandidate, Turn
from techdocs_app.providers.local_condense import (
    condense_locally,
    conversation_subject,
    without_context,
)
from techdocs_app.providers.local_rerank import LocalReranker
from techdocs_app.rag.followup import (
    CONDENSED_WEIGHT,
    FOCUS_MIN_HITS,
    OWN_WORDS_WEIGHT,
    PREVIOUS_MANUAL_BONUS,
    TYPED_WEIGHT,
    followup_wordings,
    fuse_scores,
    lacks_previous_manuals,
    merge_pools,
)
from techdocs_app.rag.retrieve import SearchHit
from tests.factories import search_hit


def _turn(question: str) -> Turn:
    return Turn(question=question, answer="(answer)", standalone_query=question)


def _hit(chunk_id: int, document_id: int, content: str = "text") -> SearchHit:
    return search_hit(
        chunk_id=chunk_id,
        document_id=document_id,
        page_start=chunk_id,
        page_end=chunk_id,
        content=content,
    )


def test_conversation_subject_and_own_words() -> None:
    history = [_turn("What input voltage does the PX-220 controller accept?")]
    assert conversation_subject(history) == "PX-220"
    assert conversation_subject([_turn("how do I wire a relay?")]) is None
    assert without_context("How deep do I dip it? (solder pot, tinning)") == "How deep do I dip it?"
    assert without_context("What is the (max) rating of the PX-220?") == (
        "What is the (max) rating of the PX-220?"
    )


def test_a_followup_has_three_wordings_and_a_standalone_question_one() -> None:
    history = [_turn("What input voltage does the PX-220 controller accept?")]
    question = "Which fuse protects it?"
    standalone = condense_locally(question, history)
    wordings = dict(followup_wordings(question, standalone, history))
    assert wordings[standalone] == CONDENSED_WEIGHT
    assert wordings["Which fuse protects it? (PX-220)"] == TYPED_WEIGHT
    assert "PX-220" in standalone

    elliptical = "and the output current?"
    rewritten = condense_locally(elliptical, history)
    texts = [text for text, _ in followup_wordings(elliptical, rewritten, history)]
    assert texts == [rewritten, without_context(rewritten), "and the output current? (PX-220)"]
    assert "(" not in texts[1]

    carried = "Which one is the default? (PX-220 controller, input voltage)"
    wordings = dict(followup_wordings("Which one is the default?", carried, history))
    assert wordings["Which one is the default?"] == OWN_WORDS_WEIGHT

    alone = "What torque does the KL-9 pump flange take?"
    assert followup_wordings(alone, alone, history) == [(alone, CONDENSED_WEIGHT)]
    assert followup_wordings(alone, alone, []) == [(alone, CONDENSED_WEIGHT)]


def test_fusion_normalises_each_wording_and_prefers_previous_manuals_only_when_close() -> None:
    documents = [1, 1, 2]
    # The condensed query scores on another scale than the own words: only the ratios count.
    condensed = {0: 10.0, 1: 8.0, 2: 9.0}
    own_words = {0: 0.2, 1: 1.0, 2: 0.3}
    fused = fuse_scores([(1.0, condensed), (0.5, own_words)], documents=documents)
    assert fused[1] > fused[0] > fused[2]
    assert abs(fused[0] - (1.0 + 0.5 * 0.2) / 1.5) < 1e-9

    tie = fuse_scores([(1.0, {0: 1.0, 1: 1.0})], documents=[1, 2], preferred=[2])
    assert abs(tie[1] - tie[0] - PREVIOUS_MANUAL_BONUS) < 1e-9
    clear = fuse_scores([(1.0, {0: 1.0, 1: 0.5})], documents=[1, 2], preferred=[2])
    assert clear[0] > clear[1], "the preference decides close calls, not a clear winner"

    failed = fuse_scores([(1.0, {}), (0.5, {})], documents=[1, 2], preferred=[2])
    assert failed == {0: 0.0, 1: PREVIOUS_MANUAL_BONUS}


def test_own_words_lift_the_page_the_followup_asks_about() -> None:
    """The carried context ('baud rate, USB connector') matches the previous page; the question
    asks about the driver: fused, the driver page leads."""
    pages = [
        "The board talks to the PC over USB at a baud rate of 115200 through the USB connector.",
        "On Windows install the CH340 driver so the board shows up as a serial port.",
    ]
    question = "What driver do I need on Windows for it?"
    standalone = "What driver do I need on Windows for the PX-220? (baud rate, USB connector)"
    history = [_turn("What baud rate and USB connector does the PX-220 use?")]
    candidates = [RerankCandidate(text=p, fused_score=1.0 - i / 10) for i, p in enumerate(pages)]
    reranker = LocalReranker()
    scored = [
        (weight, {r.index: r.score for r in asyncio.run(reranker.rerank(text, candidates, 2))})
        for text, weight in followup_wordings(question, standalone, history)
    ]
    fused = fuse_scores(scored, documents=[1, 1])
    assert fused[1] > fused[0]


def test_merged_pool_keeps_the_first_search_and_adds_the_rest_once() -> None:
    focused = [_hit(1, 1), _hit(2, 1)]
    library = [_hit(3, 2), _hit(2, 1), _hit(4, 3)]
    assert [h.chunk_id for h in merge_pools(focused, library)] == [1, 2, 3, 4]
    assert merge_pools([], library) == library


def test_the_previous_manuals_are_searched_too_only_when_the_library_search_misses_them() -> None:
    enough = [_hit(i, 7) for i in range(FOCUS_MIN_HITS)] + [_hit(99, 3)]
    assert not lacks_previous_manuals(enough, [7])
    few = [_hit(i, 3) for i in range(10)] + [_hit(50 + i, 7) for i in range(FOCUS_MIN_HITS - 1)]
    assert lacks_previous_manuals(few, [7, 8])
    assert not lacks_previous_manuals(few, [])  # no previous manuals: nothing to add


def test_own_words_keep_a_parenthesis_the_user_typed() -> None:
    from techdocs_app.rag.followup import own_words

    # A condenser's carried context goes; what the technician typed in brackets stays.
    assert own_words("and the bolts?", "Torque of the PX-220 bolts? (caliper)") == (
        "Torque of the PX-220 bolts?"
    )
    assert own_words("and the torque (M10)?", "Torque of the PX-220 bolts (M10)?") == (
        "Torque of the PX-220 bolts (M10)?"
    )
    assert own_words("and the torque?", "PX-220 bolt torque (M10)") == "PX-220 bolt torque"
    assert own_words("torque of the PX-220 bolts (m10)", "PX-220 bolt torque (M10)") == (
        "PX-220 bolt torque (M10)"
    )


def test_a_turn_answered_not_found_still_names_the_manuals_its_search_ranked_first() -> None:
    """The manuals a follow-up prefers come from the previous turn: its cited sources first,
    then its other sources, then (a "not found" answer shows no sources) its ranking."""
    from techdocs_app.rag.answer import _source_views
    from techdocs_app.rag.followup import turn_manuals

    ranked = [_hit(1, 7), _hit(2, 3), _hit(3, 7), _hit(4, 5)]
    sources = _source_views(ranked[:3], [0.9, 0.8, 0.7])
    assert turn_manuals([2], sources, ranked[:3]) == (3, 7)
    assert turn_manuals([], sources, ranked[:3]) == (7, 3)
    assert turn_manuals([], [], ranked[:3]) == (7, 3)
    assert turn_manuals([], [], []) == ()


def test_a_followup_prefers_the_previous_manuals_until_it_moves_to_another_model() -> None:
    from techdocs_app.rag.followup import preferred_manuals
    from techdocs_app.text.identifiers import query_identifiers

    def asked(previous: str, question: str, explicit: list[int] | None = None) -> list[int] | None:
        turn = Turn(
            question=previous,
            answer="(answer)",
            standalone_query=previous,
            document_ids=(7, 3, 5),
            identifiers=tuple(query_identifiers(previous)),
        )
        standalone = condense_locally(question, [turn])
        return preferred_manuals(question, standalone, [turn], explicit=explicit)

    assert asked("What is the supply voltage of the PX-220?", "how hot does it get?") == [7, 3]
    # A code of the same manual: the rewrite keeps the model.
    assert asked("What does error E04 mean on the PX-220?", "and E05?") == [7, 3]
    # Another model: no preference for the old one's manual.
    assert asked("What is the supply voltage of the Trikdis RT2?", "what about the R11?") is None
    assert asked("What range does the Trikdis R11 cover?", "and the R11U?") is None
    # A conversation confined to some manuals searches those, with no preference.
    assert asked("What is the supply voltage of the PX-220?", "and its fuse?", [4]) is None
    assert preferred_manuals("and E05?", "and E05?", [], explicit=None) is None


def test_a_model_the_previous_manuals_do_not_write_ends_the_preference() -> None:
    """A condenser may write the old subject into 'is it the same on the R11?' ('Is the
    Trikdis RT2 the same on the R11?'), so the rewrite alone cannot tell a new model from a code
    of the same manual: the passages the search found can. A new identifier written in none of
    the previous manuals' passages is another model; one written there is theirs. (The local
    condenser now asks the previous question of the R11, so the preference ends at once.)"""
    from techdocs_app.rag.followup import names_another_model, new_identifiers, preferred_manuals

    rt2 = Turn(
        question="What is the supply voltage of the Trikdis RT2?",
        answer="(answer)",
        standalone_query="What is the supply voltage of the Trikdis RT2?",
        document_ids=(7,),
        identifiers=("RT2",),
    )
    question = "is it the same on the R11?"
    local = condense_locally(question, [rt2])
    assert local == "What is the supply voltage of the R11?"
    assert preferred_manuals(question, local, [rt2], explicit=None) is None
    standalone = "Is the Trikdis RT2 the same on the R11?"
    assert "RT2" in standalone  # a rewrite naming the old subject ...
    assert preferred_manuals(question, standalone, [rt2], explicit=None) == [7]  # ... so kept
    new = new_identifiers(question, [rt2])
    assert new == {"r11"}
    rt2_page = search_hit(document_id=7, content="RT2 supply: 11-15 V.", identifiers=["RT2"])
    r11_page = search_hit(chunk_id=2, document_id=9, content="R11 supply: 12 V.")
    assert names_another_model(new, [rt2_page, r11_page], [7])
    # An event code the previous manual writes is that manual's: the preference stays.
    codes = search_hit(chunk_id=3, document_id=7, content="E05 Telephone line fault")
    assert not names_another_model({"e05"}, [rt2_page, codes], [7])
    assert not names_another_model({"e05"}, [search_hit(document_id=7, identifiers=["E05"])], [7])
    # Nothing new named, or no preference: nothing to end.
    assert not names_another_model(set(), [r11_page], [7])
    assert not names_another_model(new, [r11_page], [])
    assert new_identifiers("and its current draw?", [rt2]) == set()
