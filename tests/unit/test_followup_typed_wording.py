"""The typed wording of a follow-up: the conversation's subject is added, unless the follow-up
names a model of its own."""

from __future__ import annotations

from techdocs_app.providers.base import Turn
from techdocs_app.rag.followup import followup_wordings

RT2 = Turn(
    question="What supply voltage does the Trikdis RT2 accept?",
    answer="(answer)",
    standalone_query="What supply voltage does the Trikdis RT2 accept?",
    document_ids=(7,),
    identifiers=("RT2",),
)


def _typed(question: str, standalone: str) -> str:
    wordings = [text for text, _ in followup_wordings(question, standalone, [RT2])]
    return wordings[-1]


def test_the_subject_is_added_to_a_follow_up_naming_none() -> None:
    assert _typed("and its current draw?", "What about the Trikdis RT2's current draw?") == (
        "and its current draw? (Trikdis RT2)"
    )


def test_a_follow_up_naming_another_model_keeps_its_own() -> None:
    # 'is it the same on the R11? (Trikdis RT2)' pulled the ranking back to the RT2.
    assert (
        _typed("is it the same on the R11?", "What supply voltage does the R11 accept?")
        == "is it the same on the R11?"
    )
