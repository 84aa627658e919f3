"""Values of our own types for unit tests, with every field a test does not care about filled."""

from __future__ import annotations

from typing import Any

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
