"""Follow-ups that ask nothing of their own ('huh?') and follow-ups naming another model
('and the R11?' after a question about the Ender-3): the offline condenser's rewrites and the
follow-up ranking's use of them."""

from __future__ import annotations

import pytest

from techdocs_app.providers.base import Turn
from techdocs_app.providers.local_condense import (
    about_another_model,
    asks_again,
    condense_locally,
)
from techdocs_app.rag.followup import followup_wordings, moved_rewrite, preferred_manuals

ENDER_BED = "How do I level the bed on the Ender-3?"
ENDER_NOZZLE = "What's the max nozzle temperature of the Ender-3?"
RT2_VOLTAGE = "What supply voltage does the Trikdis RT2 accept?"


def _turn(question: str, standalone: str = "") -> Turn:
    return Turn(question=question, answer="(answer)", standalone_query=standalone or question)


@pytest.mark.parametrize(
    "question",
    [
        "huh?",
        "Huh?",
        "what?",
        "sorry?",
        "Sorry, what?",
        "come again?",
        "and?",
        "eh?",
        "pardon?",
        "say that again please?",
        "I beg your pardon?",
        "pardon me?",
        "Pardon me?",
        "say what?",
        "Say what?",
    ],
)
def test_a_followup_asking_nothing_of_its_own_asks_the_previous_question_again(
    question: str,
) -> None:
    assert asks_again(question)
    assert condense_locally(question, [_turn(ENDER_BED)]) == ENDER_BED
    # The previous turn's rewrite, not its typed words, is asked again.
    history = [
        _turn(RT2_VOLTAGE),
        _turn("and the R11?", "What supply voltage does the R11 accept?"),
    ]
    assert condense_locally(question, history) == "What supply voltage does the R11 accept?"


@pytest.mark.parametrize(
    "question",
    [
        "why?",
        "how?",
        "what's that?",
        "what is that?",
        "what about the R11?",
        "and the bed?",
        "what voltage?",
        "huh, and the fuse?",
    ],
)
def test_a_followup_asking_something_is_not_asked_again(question: str) -> None:
    assert not asks_again(question)
    assert condense_locally(question, [_turn(RT2_VOLTAGE)]) != RT2_VOLTAGE


@pytest.mark.parametrize(
    "question",
    ["and that?", "that?", "and this?", "I?", "your?", "please?", "what, that?", "me?"],
)
def test_a_pronoun_or_a_polite_word_alone_is_no_request_to_hear_it_again(question: str) -> None:
    """'that' only asks again inside 'say that again' or 'repeat that'; 'I', 'your', 'me' only
    inside 'I beg your pardon' and 'excuse me'; 'please' only with such a request."""
    assert not asks_again(question)
    assert condense_locally(question, [_turn(ENDER_BED)]) != ENDER_BED


@pytest.mark.parametrize(
    "question", ["repeat that?", "could you repeat that please?", "excuse me?", "say again?"]
)
def test_the_set_phrases_of_asking_again(question: str) -> None:
    assert asks_again(question)
    assert condense_locally(question, [_turn(ENDER_BED)]) == ENDER_BED


def test_huh_is_ranked_by_the_previous_question_alone() -> None:
    """'huh?' (the typed words with the subject) would be a wording of its own: none is added."""
    history = [_turn(ENDER_BED)]
    assert followup_wordings("huh?", ENDER_BED, history) == [(ENDER_BED, 1.0)]


def test_huh_after_a_followup_repeats_that_turns_wordings_and_preference() -> None:
    """'huh?' after 'and the R11?' (which moved off an Ender-3 question) is that turn asked
    again: ranked by its wordings (the typed 'and the R11?' among them) and preferring what it
    preferred (nothing: it moved), not the manuals it showed (the Ender-3's among them)."""
    moved = "How do I level the bed on the R11?"
    first = Turn(
        question=ENDER_BED, answer="(answer)", standalone_query=ENDER_BED, document_ids=(2,)
    )
    second = Turn(
        question="and the R11?", answer="(answer)", standalone_query=moved, document_ids=(1, 2)
    )
    history = [first, second]
    assert followup_wordings("huh?", moved, history) == followup_wordings(
        "and the R11?", moved, [first]
    )
    assert len(followup_wordings("huh?", moved, history)) > 1
    assert preferred_manuals("huh?", moved, history, explicit=None) is None
    assert preferred_manuals("and the R11?", moved, [first], explicit=None) is None
    # After a turn that stayed with its manual, the repeat prefers it too.
    stayed = Turn(
        question="and the nozzle?",
        answer="(answer)",
        standalone_query="What about the nozzle of the Ender-3? (bed)",
        document_ids=(2,),
    )
    assert preferred_manuals("huh?", stayed.standalone_query, [first, stayed], explicit=None) == [2]


def test_a_first_question_of_huh_stays_as_typed() -> None:
    assert condense_locally("huh?", []) == "huh?"


def test_a_short_code_after_another_models_question_reads_as_a_part_without_the_manuals() -> None:
    """The rules alone cannot tell the R11 receiver from a resistor R11 of the printer, so
    `condense_locally` keeps reading a short code as a part of the subject; `about_another_model`
    is what the pipeline asks when the printer's manuals never write the name."""
    history = [_turn(ENDER_BED)]
    assert condense_locally("and the R11?", history) == "What about the R11 of the Ender-3? (bed)"
    assert about_another_model("and the R11?", history) == "How do I level the bed on the R11?"
    assert (
        about_another_model("and the R11?", [_turn(ENDER_NOZZLE)])
        == "What's the max nozzle temperature of the R11?"
    )
    assert (
        about_another_model("what about the R11?", [_turn(ENDER_NOZZLE)])
        == "What's the max nozzle temperature of the R11?"
    )
    assert about_another_model("and the R11?", []) is None


def test_the_moved_rewrite_replaces_only_a_rewrite_that_carries_the_old_subject() -> None:
    history = [_turn(ENDER_BED)]
    glued = condense_locally("and the R11?", history)
    assert moved_rewrite("and the R11?", glued, history) == "How do I level the bed on the R11?"
    # A rewrite that already left the printer (another condenser's) is kept.
    assert (
        moved_rewrite("and the R11?", "How do I level the bed on the Trikdis R11?", history) is None
    )
    # After the RT2 the rules already ask the R11 the previous question: nothing to replace.
    rt2 = [_turn(RT2_VOLTAGE)]
    rewrite = condense_locally("and the R11?", rt2)
    assert rewrite == "What supply voltage does the R11 accept?"
    assert moved_rewrite("and the R11?", rewrite, rt2) is None
