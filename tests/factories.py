"""Values of our own types for unit tests, with every field a test does not care about filled."""

from __future__ import annotations

from typing import Any

from techdocs_app.providers.base import SourcePassage
from techdocs_app.providers.local_answer import ExtractiveAnswerer
from techdocs_app.rag.retrieve import SearchHit


def search_hit(*, chunk_id: int = 1, document_id: int = 1, **fields: Any) -> SearchHit:
    """A retrieved passage: one page of manual `document_id`, plain text, a small fused score."""
    values: dict[str, Any] = {
        "chunk_id": chunk_id,
        "document_id": document_id,
        "document_title": f"manual {document_id}",
        "filename": f"m{document_id}.pdf",
        "page_start": 1,
        "page_end": 1,
        "heading": "",
        "section_path": [],
        "content": "",
        "kind": "text",
        "parent_id": None,
        "positions": [],
        "identifiers": [],
        "score": 0.01,
    }
    values.update(fields)
    return SearchHit(**values)


def source_passage(
    text: str,
    *,
    number: int = 1,
    title: str = "X00 2001",
    section: str = "Specifications",
    heading: str = "",
    page: int = 2,
) -> SourcePassage:
    """A passage as the answerer receives it: `title > section` as its heading unless `heading`
    is given."""
    return SourcePassage(
        number=number,
        document_title=title,
        page_start=page,
        page_end=page,
        heading=heading or f"{title} > {section}",
        text=text,
    )


async def extractive_answer(question: str, sources: list[SourcePassage]) -> str:
    """The offline answerer's whole streamed answer to `question` from `sources`."""
    stream = ExtractiveAnswerer().stream_answer(question=question, sources=sources, history=[])
    return "".join([piece async for piece in stream])
