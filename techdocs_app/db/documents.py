"""Queries for documents and their chunks (keyword-only functions; tenant queries take `org_id`).

The worker-side functions (`get_document_for_job`, `lock_document`, `set_progress`, ...) address a
document by id alone: a job carries only the id, and the document row carries its org.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlmodel import Session, col, select

from techdocs_app.db.models import Chunk, Document, Organization, utcnow

# ---- tenant-scoped (org_id always from the Principal) -------------------------------------------


def get_document(session: Session, *, org_id: int, document_id: int) -> Document | None:
    return session.exec(
        select(Document).where(Document.org_id == org_id, Document.id == document_id)
    ).first()


def get_document_by_sha(session: Session, *, org_id: int, sha256: str) -> Document | None:
    return session.exec(
        select(Document).where(Document.org_id == org_id, Document.sha256 == sha256)
    ).first()


def _documents_query(*, org_id: int, name_filter: str) -> Any:
    query = select(Document).where(Document.org_id == org_id)
    name_filter = name_filter.strip()
    if name_filter:
        escaped = name_filter.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            col(Document.filename).ilike(pattern, escape="\\")
            | col(Document.title).ilike(pattern, escape="\\")
        )
    return query


def list_documents(
    session: Session, *, org_id: int, name_filter: str = "", limit: int = 500, offset: int = 0
) -> list[Document]:
    """Newest first, one page of `limit` from `offset`."""
    query = _documents_query(org_id=org_id, name_filter=name_filter)
    return list(
        session.exec(
            query.order_by(col(Document.created_at).desc(), col(Document.id))
            .offset(offset)
            .limit(limit)
        )
    )


def count_documents(session: Session, *, org_id: int, name_filter: str = "") -> int:
    query = _documents_query(org_id=org_id, name_filter=name_filter)
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def delete_document(session: Session, *, org_id: int, document_id: int) -> bool:
    """Delete a document and (by cascade) its chunks. True when a row was deleted."""
    session.exec(
        delete(Chunk).where(Chunk.org_id == org_id, Chunk.document_id == document_id)  # type: ignore[arg-type]
    )
    result = session.exec(
        delete(Document).where(Document.org_id == org_id, Document.id == document_id)  # type: ignore[arg-type]
    )
    return bool(result.rowcount)


def count_chunks(session: Session, *, org_id: int, document_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Chunk)
            .where(Chunk.org_id == org_id, Chunk.document_id == document_id)
        ).one()
    )


def documents_with_other_model(
    session: Session, *, org_id: int, embed_model: str
) -> list[Document]:
    """Ready documents embedded by another model: they need a re-index before they can be searched
    together with new ones (vectors of different models are never compared)."""
    return list(
        session.exec(
            select(Document).where(
                Document.org_id == org_id,
                Document.status == "ready",
                col(Document.embed_model).is_distinct_from(embed_model),
            )
        )
    )


def find_org(session: Session, *, org_ref: str) -> Organization | None:
    """An organization by id (digits) or exact name (for the CLI)."""
    ref = org_ref.strip()
    if ref.isdigit():
        found = session.get(Organization, int(ref))
        if found:
            return found
    return session.exec(select(Organization).where(Organization.name == ref)).first()


# ---- worker side (by document id) -------------------------------------------------------------


def get_document_for_job(session: Session, *, document_id: int) -> Document | None:
    return session.get(Document, document_id)


def lock_document(session: Session, *, document_id: int) -> Document | None:
    """The document row locked FOR UPDATE: concurrent runs for one document serialise here."""
    return session.exec(
        select(Document).where(Document.id == document_id).with_for_update()
    ).first()


def update_document(session: Session, *, document_id: int, **values: Any) -> bool:
    """Set columns of one document; False when it no longer exists (deleted meanwhile)."""
    values.setdefault("updated_at", utcnow())
    result = session.exec(
        update(Document).where(Document.id == document_id).values(**values)  # type: ignore[arg-type]
    )
    return bool(result.rowcount)


def replace_chunks(
    session: Session,
    *,
    org_id: int,
    document_id: int,
    parents: Sequence[dict[str, Any]],
    children: Sequence[dict[str, Any]],
) -> int:
    """Delete the document's chunks and insert new ones (call inside the job's one transaction).

    `parents` rows carry a `key`; children carry `parent_key` (or None). Parents are inserted first so
    that children get their `parent_id`. Returns the number of rows inserted.
    """
    session.exec(
        delete(Chunk).where(Chunk.org_id == org_id, Chunk.document_id == document_id)  # type: ignore[arg-type]
    )
    parent_ids: dict[int, int] = {}
    if parents:
        rows = [{k: v for k, v in p.items() if k != "key"} for p in parents]
        ids = session.execute(insert(Chunk).returning(Chunk.id, sort_by_parameter_order=True), rows)
        for parent, (new_id,) in zip(parents, ids.all(), strict=True):
            parent_ids[parent["key"]] = new_id
    if children:
        rows = []
        for child in children:
            row = {k: v for k, v in child.items() if k != "parent_key"}
            parent_key = child.get("parent_key")
            row["parent_id"] = parent_ids.get(parent_key) if parent_key is not None else None
            rows.append(row)
        session.execute(insert(Chunk), rows)
    return len(parents) + len(children)


def stale_unfinished_documents(session: Session, *, older_than_s: float) -> list[Document]:
    """Pending/processing documents (of every org) untouched for `older_than_s` seconds."""
    cutoff: datetime = utcnow() - timedelta(seconds=older_than_s)
    return list(
        session.exec(
            select(Document).where(
                col(Document.status).in_(("pending", "processing")),
                Document.updated_at < cutoff,
            )
        )
    )
