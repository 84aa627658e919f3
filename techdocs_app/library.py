"""The Library service the UI and CLI call: upload, list, delete, re-index, page images.

Every function takes the signed-in `Principal` first and scopes every query by `principal.org_id`;
a document of another organization is indistinguishable from a missing one (`NotFound`).
PDF parsing never happens here (only the cheap upload inspection): the RQ worker does it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redis.exceptions import RedisError

from techdocs_app import jobs, page_images, throttles
from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, require
from techdocs_app.billing.access import require_capability
from techdocs_app.billing.plans import Capability
from techdocs_app.db import accounts
from techdocs_app.db import documents as docs_db
from techdocs_app.db.engine import session_scope
from techdocs_app.db.models import Document, utcnow
from techdocs_app.errors import NotFound, RateLimited, ValidationFailed
from techdocs_app.rag.ingest import register_upload
from techdocs_app.storage import get_file_store, get_pdf_cache

log = logging.getLogger(__name__)

DOCUMENT_NOT_FOUND = "That manual was not found in your library. Refresh the page and try again."
MAX_ZOOM = 4.0


@dataclass(frozen=True)
class DocumentView:
    id: int
    filename: str
    title: str
    status: str
    pages: int
    pages_done: int
    chunk_count: int
    error_message: str | None
    created_at: datetime
    size_bytes: int
    ocr_pages: int = 0
    embed_model: str | None = None
    processed_at: datetime | None = None

    @property
    def progress(self) -> float:
        """0..1 for a progress bar."""
        if self.status == "ready":
            return 1.0
        return min(1.0, self.pages_done / self.pages) if self.pages else 0.0

    @classmethod
    def of(cls, d: Document) -> DocumentView:
        assert d.id is not None
        return cls(
            id=d.id,
            filename=d.filename,
            title=d.title,
            status=d.status,
            pages=d.pages,
            pages_done=d.pages_done,
            chunk_count=d.chunk_count,
            error_message=d.error_message,
            created_at=d.created_at,
            size_bytes=d.size_bytes,
            ocr_pages=d.ocr_pages,
            embed_model=d.embed_model,
            processed_at=d.processed_at,
        )


@dataclass(frozen=True)
class UploadResult:
    document: DocumentView
    duplicate: bool


def _enqueue(document_id: int, org_id: int) -> None:
    try:
        jobs.enqueue_ingest(document_id, org_id=org_id)
    except RedisError:
        # The file and the pending document are safe; the worker's recovery sweep enqueues
        # pending documents that have no job, so the upload itself still succeeds.
        log.exception(
            "could not enqueue document %s; the worker sweep will pick it up", document_id
        )


def check_upload_allowed(principal: Principal, *, files: int = 1) -> None:
    """Before any byte is sent: may this person upload `files` manuals now? Raises
    `PermissionDenied` (members), `ReadOnlyPlan` (the shop's trial or subscription ended) or
    `RateLimited` (the organization's hourly upload limit)."""
    require(principal, Action.MANAGE_DOCUMENTS)
    require_capability(principal, Capability.UPLOAD)
    wait = throttles.upload_wait(principal, files=files)
    if wait > 0:
        raise RateLimited(throttles.UPLOAD_WAIT, retry_after=wait, detail="rate uploads-org")


def upload_document(principal: Principal, *, filename: str, data: bytes | Path) -> UploadResult:
    """Validate and store a PDF, create the `pending` document and queue its processing.

    `data` is the file's bytes or the path of the file streamed to disk. Raises `UploadRejected`
    (nothing stored) for files we will not keep, `RateLimited` past the organization's uploads
    per hour. The same file uploaded again in the same organization returns the existing
    document with `duplicate=True`. Owners and admins manage the library; technicians (members)
    ask questions. A read-only shop (trial or subscription ended) raises `ReadOnlyPlan`.
    """
    require(principal, Action.MANAGE_DOCUMENTS)
    require_capability(principal, Capability.UPLOAD)
    throttles.count_upload(principal)
    registered = register_upload(
        org_id=principal.org_id, filename=filename, data=data, uploaded_by=principal.user_id
    )
    document = registered.document
    assert document.id is not None
    if not registered.duplicate:
        _enqueue(document.id, principal.org_id)
    return UploadResult(document=DocumentView.of(document), duplicate=registered.duplicate)


PAGE_MAX = 500
"""The most documents one call lists (the Library shows them all up to this)."""


def list_documents(
    principal: Principal, *, name_filter: str = "", limit: int = PAGE_MAX, offset: int = 0
) -> list[DocumentView]:
    """One page of the library, newest first (`limit` at most PAGE_MAX)."""
    if not 1 <= limit <= PAGE_MAX or offset < 0:
        raise ValidationFailed(f"List between 1 and {PAGE_MAX} manuals at a time.")
    with session_scope(org_id=principal.org_id) as session:
        rows = docs_db.list_documents(
            session, org_id=principal.org_id, name_filter=name_filter, limit=limit, offset=offset
        )
        return [DocumentView.of(d) for d in rows]


def count_documents(principal: Principal, *, name_filter: str = "") -> int:
    with session_scope(org_id=principal.org_id) as session:
        return docs_db.count_documents(session, org_id=principal.org_id, name_filter=name_filter)


def get_document(principal: Principal, *, document_id: int) -> DocumentView:
    with session_scope(org_id=principal.org_id) as session:
        document = docs_db.get_document(session, org_id=principal.org_id, document_id=document_id)
        if document is None:
            raise NotFound(DOCUMENT_NOT_FOUND)
        return DocumentView.of(document)


def delete_document(principal: Principal, *, document_id: int) -> None:
    """Remove the document, its chunks and its stored file, from any state."""
    require(principal, Action.MANAGE_DOCUMENTS)
    with session_scope(org_id=principal.org_id) as session:
        document = docs_db.get_document(session, org_id=principal.org_id, document_id=document_id)
        if document is None:
            raise NotFound(DOCUMENT_NOT_FOUND)
        storage_key = document.storage_key
        docs_db.delete_document(session, org_id=principal.org_id, document_id=document_id)
        accounts.bump_index_version(session, org_id=principal.org_id)
    try:
        jobs.cancel_ingest(document_id)
    except RedisError:
        log.warning("could not cancel the job of deleted document %s", document_id)
    get_file_store().delete(storage_key)


def reindex_document(principal: Principal, *, document_id: int) -> DocumentView:
    """Process the stored file again (after a failure, or when the embedding model changed).

    The old chunks stay searchable until the new ones replace them in one transaction.
    """
    require(principal, Action.MANAGE_DOCUMENTS)
    require_capability(principal, Capability.REINDEX)
    with session_scope(org_id=principal.org_id) as session:
        document = docs_db.get_document(session, org_id=principal.org_id, document_id=document_id)
        if document is None:
            raise NotFound(DOCUMENT_NOT_FOUND)
        if document.status != "processing":
            docs_db.update_document(
                session,
                document_id=document_id,
                status="pending",
                pages_done=0,
                error_message=None,
                updated_at=utcnow(),
            )
    _enqueue(document_id, principal.org_id)
    return get_document(principal, document_id=document_id)


def retry_document(principal: Principal, *, document_id: int) -> DocumentView:
    """The Library's Retry on a failed manual: its job goes back on the queue from RQ's
    failed-job registry (with its retries restored) when it is there, else a new job is queued."""
    require(principal, Action.MANAGE_DOCUMENTS)
    with session_scope(org_id=principal.org_id) as session:
        document = docs_db.get_document(session, org_id=principal.org_id, document_id=document_id)
        if document is None:
            raise NotFound(DOCUMENT_NOT_FOUND)
        if document.status != "failed":
            raise ValidationFailed("Only a manual that failed can be retried.")
        docs_db.update_document(
            session, document_id=document_id, status="pending", pages_done=0, error_message=None
        )
    try:
        if jobs.requeue_failed(document_id, org_id=principal.org_id) is None:
            jobs.enqueue_ingest(document_id, org_id=principal.org_id)
    except RedisError:
        log.exception("could not queue document %s again; the worker sweep will", document_id)
    return get_document(principal, document_id=document_id)


def documents_needing_reindex(principal: Principal) -> list[DocumentView]:
    """Ready documents embedded by another model than the current one (e.g. after adding an
    OpenAI key): re-index them so that all of the library's vectors come from one model."""
    from techdocs_app.providers import get_embedder

    with session_scope(org_id=principal.org_id) as session:
        rows = docs_db.documents_with_other_model(
            session, org_id=principal.org_id, embed_model=get_embedder().model_name
        )
        return [DocumentView.of(d) for d in rows]


def render_page_png(
    principal: Principal,
    *,
    document_id: int,
    page: int,
    highlight: Sequence[dict] | None = None,
    zoom: float = 1.5,
) -> bytes:
    """One page of the stored PDF as PNG, with cited passages drawn as translucent boxes.

    `highlight` boxes are `{"page", "x0", "y0", "x1", "y1"}` in PDF points (chunk `positions`);
    boxes of other pages are ignored. The image is bounded in pixels and cached
    (`page_images`); with Supabase Storage the PDF is downloaded once, not per page
    (`storage.PdfCache`).
    """
    if not 0.25 <= zoom <= MAX_ZOOM:
        raise ValidationFailed(f"Zoom must be between 0.25 and {MAX_ZOOM:g}.")
    with session_scope(org_id=principal.org_id) as session:
        document = docs_db.get_document(session, org_id=principal.org_id, document_id=document_id)
        if document is None:
            raise NotFound(DOCUMENT_NOT_FOUND)
        storage_key = document.storage_key
    if document.pages and not 1 <= page <= document.pages:
        raise NotFound("That page is not in this manual.")
    key = page_images.cache_key(
        org_id=principal.org_id,
        document_id=document_id,
        storage_key=storage_key,
        page=page,
        highlight=highlight,
        zoom=zoom,
    )
    cache = page_images.page_image_cache()
    png = cache.get(key)
    if png is None:
        with get_pdf_cache().copy(get_file_store(), storage_key) as path:
            png = page_images.render_png(path, page=page, highlight=highlight, zoom=zoom)
        cache.put(key, png)
    return png
