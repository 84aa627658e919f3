"""Which documents are being processed right now, as Postgres sees it, and the sweeps' queries.

A running ingest job holds a transaction-level advisory lock on its document
(`pg_try_advisory_xact_lock`) on a connection of its own for as long as it runs. The lock goes away
with the job's transaction or its connection: a killed work horse releases it at once, whatever
happened to Redis. So:

- two runs of one document never overlap (the second finds the claim taken and leaves the work to
  the first);
- the reconciliation asks Postgres (`pg_locks`), not Redis, whether a `processing` document is in
  someone's hands, so a flushed Redis does not make it run a document twice.

A transaction-level lock (not a session one) keeps this correct behind a transaction-mode pooler:
the open transaction pins the server connection. The key is one bigint: `CLAIM_NAMESPACE` in the
high 32 bits, the document id (< 2**32) in the low ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session, col, select

from techdocs_app.db.engine import get_engine
from techdocs_app.db.models import Document, utcnow

CLAIM_NAMESPACE = 0x7EC4
_LOW_BITS = 1 << 32


def _claim_key(document_id: int) -> int:
    return CLAIM_NAMESPACE * _LOW_BITS + int(document_id) % _LOW_BITS


@contextmanager
def claim_document(*, document_id: int) -> Iterator[bool]:
    """Hold the document's processing claim for the duration of the block (True), or learn that
    another run holds it (False; the block should then leave the document alone)."""
    with get_engine().connect() as connection:
        claimed = connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _claim_key(document_id)}
        ).scalar_one()
        try:
            yield bool(claimed)
        finally:
            connection.rollback()


def claimed_document_ids(session: Session) -> set[int]:
    """Ids of the documents whose processing claim is held right now (any organization)."""
    rows = session.connection().execute(
        text(
            "SELECT objid::bigint FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid = :ns"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"ns": CLAIM_NAMESPACE},
    )
    return {int(row[0]) for row in rows}


def unfinished_documents(session: Session, *, untouched_for_s: float) -> list[Document]:
    """`pending`/`processing` documents of every organization not updated for `untouched_for_s`
    seconds (younger ones may still be between their INSERT and their enqueue)."""
    cutoff: datetime = utcnow() - timedelta(seconds=untouched_for_s)
    return list(
        session.exec(
            select(Document)
            .where(
                col(Document.status).in_(("pending", "processing")),
                Document.updated_at < cutoff,
            )
            .order_by(col(Document.id))
        )
    )


def processing_documents_untouched(session: Session, *, for_s: float) -> list[Document]:
    """`processing` documents of every organization not updated for `for_s` seconds."""
    cutoff: datetime = utcnow() - timedelta(seconds=for_s)
    return list(
        session.exec(
            select(Document)
            .where(Document.status == "processing", Document.updated_at < cutoff)
            .order_by(col(Document.id))
        )
    )


def mark_document(session: Session, *, org_id: int, document_id: int, **values: object) -> bool:
    """Set columns of one document of `org_id` (the sweeps' writes); False when it is gone."""
    from sqlalchemy import update

    values.setdefault("updated_at", utcnow())
    result = session.exec(
        update(Document)  # type: ignore[arg-type]
        .where(col(Document.org_id) == org_id, col(Document.id) == document_id)
        .values(**values)
    )
    return bool(result.rowcount)
