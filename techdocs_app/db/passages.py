"""Reads the answer pipeline makes (keyword-only, every function filters on org_id): the
organization's index version, the manuals searched, parent sections of retrieved chunks, a
manual's whole text for the evidence decision, and which manuals write a name a follow-up asks
about."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import text
from sqlmodel import Session, col, select

from techdocs_app.db.models import Chunk, Document, Organization


class ManualFingerprint(NamedTuple):
    """What identifies one indexed version of a manual (a re-index changes it)."""

    document_id: int
    title: str
    filename: str
    sha256: str
    chunk_count: int


class ManualChunk(NamedTuple):
    document_id: int
    chunk_id: int
    parent_id: int | None
    content: str


def index_version(session: Session, *, org_id: int) -> int | None:
    """The organization's index version (None when the organization does not exist)."""
    return session.exec(select(Organization.index_version).where(Organization.id == org_id)).first()


def ready_document_titles(
    session: Session, *, org_id: int, document_ids: Sequence[int] | None
) -> list[str]:
    """Titles (else file names) of the organization's ready manuals, optionally only these."""
    stmt = select(Document.title, Document.filename).where(
        Document.org_id == org_id, Document.status == "ready"
    )
    if document_ids is not None:
        stmt = stmt.where(col(Document.id).in_(list(document_ids)))
    rows = session.exec(stmt.order_by(col(Document.title))).all()
    return [title or filename for title, filename in rows]


def chunk_texts(session: Session, *, org_id: int, chunk_ids: Sequence[int]) -> dict[int, str]:
    """chunk id -> content for these chunks of the organization."""
    if not chunk_ids:
        return {}
    rows = session.exec(
        select(col(Chunk.id), Chunk.content).where(
            Chunk.org_id == org_id, col(Chunk.id).in_(list(chunk_ids))
        )
    ).all()
    return {int(i or 0): c for i, c in rows}


def manual_fingerprints(
    session: Session, *, org_id: int, document_ids: Sequence[int]
) -> list[ManualFingerprint]:
    documents = session.exec(
        select(Document).where(Document.org_id == org_id, col(Document.id).in_(list(document_ids)))
    ).all()
    return [
        ManualFingerprint(
            int(d.id or 0), d.title or "", d.filename or "", d.sha256 or "", int(d.chunk_count or 0)
        )
        for d in documents
    ]


def manual_chunks(
    session: Session, *, org_id: int, document_ids: Sequence[int]
) -> list[ManualChunk]:
    """Every chunk of these manuals, in document order."""
    rows = session.exec(
        select(col(Chunk.document_id), col(Chunk.id), Chunk.parent_id, Chunk.content)
        .where(Chunk.org_id == org_id, col(Chunk.document_id).in_(list(document_ids)))
        .order_by(col(Chunk.document_id), col(Chunk.ordinal))
    ).all()
    return [ManualChunk(int(d), int(c or 0), p, content) for d, c, p, content in rows]


def documents_naming(
    session: Session, *, org_id: int, document_ids: Sequence[int], names: Sequence[str]
) -> set[int]:
    """Which of these manuals write any of `names` (model names, codes) as a whole word of a
    chunk, of its identifiers or of the manual's title, whatever its case ('R11' is not written
    by 'R11U' nor by 'TR11-4'). A name followed by 'x' and a digit is written ('M14x1.5' writes
    the thread M14, a size and its pitch)."""
    cleaned = sorted({n.strip() for n in names if n and n.strip()})
    if not document_ids or not cleaned:
        return set()
    escaped = "|".join(re.sub(r"([^A-Za-z0-9])", r"\\\1", n) for n in cleaned)
    pattern = rf"(^|[^[:alnum:]_-])({escaped})($|[^[:alnum:]_-]|x[0-9])"
    rows = session.execute(
        text(
            "SELECT DISTINCT document_id FROM chunks WHERE org_id = :org_id"
            " AND document_id = ANY(CAST(:document_ids AS bigint[]))"
            " AND (content ~* CAST(:pattern AS text) OR identifiers ~* CAST(:pattern AS text))"
            " UNION SELECT id FROM documents WHERE org_id = :org_id"
            " AND id = ANY(CAST(:document_ids AS bigint[]))"
            " AND title ~* CAST(:pattern AS text)"
        ),
        {"org_id": org_id, "document_ids": list(document_ids), "pattern": pattern},
    ).all()
    return {int(row[0]) for row in rows}
