"""The extractive answer finds the fact when the manual words it differently from the question:
a value in the unit of the quantity asked for, a limit or amount stated in other words, a word
sharing its first letters, a sentence going on with 'However', and sentence ends inside quotes."""

from __future__ import annotations

from techdocs_app.providers.base import SourcePassage
from techdocs_app.providers.extractive.question import question_terms
from techdocs_app.providers.local_answer import ExtractiveAnswerer, split_units


def _source(text: str, *, number: int = 1, title: str = "X00 2001") -> SourcePassage:
    return SourcePassage(
        number=number,
        document_title=title,
        page_start=2,
        page_end=2,
        heading=f"{title} > Specifications",
        text=text,
    )


async def _answer(question: str, sources: list[SourcePassage]) -> str:
    stream = ExtractiveAnswerer().stream_answer(question=question, sources=sources, history=[])
    return "".join([piece async for piece in stream])


def test_a_sentence_ends_inside_a_closing_quote() -> None:
    source = _source(
        'In figure 3-1, note that the cable is marked "C-MB144." The letter C denotes the '
        "service. The letters MB denote the circuit."
    )
    texts = [u.text for u in split_units(source)]
    assert texts == [
        'In figure 3-1, note that the cable is marked "C-MB144."',
        "The letter C denotes the service.",
        "The letters MB denote the circuit.",
    ]


def test_a_possessive_s_is_not_a_question_word() -> None:
    # 's' would match every value in seconds.
    assert "s" not in question_terms("What's the F103's lowest VDD?")
    assert question_terms("What's the F103's lowest VDD?") == ["f103", "lowest", "vdd"]
