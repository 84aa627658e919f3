"""Ingestion: an uploaded PDF becomes searchable chunks.

Two entry points share one code path:

- `register_upload` validates the bytes (size, magic bytes, encryption, corruption, page count) before
  anything is stored, de-duplicates by sha256 within the organization, stores the file and creates
  the `pending` document. The web upload (`library.upload_document`) then enqueues the RQ job;
  `ingest_path` (CLI, eval, tests) runs the job in-process instead.
- `run_ingest(document_id)` is the job: `processing` → extract (progress in `pages_done`) → chunk →
  embed children in batches → ONE transaction that locks the document row, replaces its chunks
  (parents first so children get `parent_id`), sets `ready` and bumps the org's index version.

Crash safety follows from that shape: nothing is visible until the last transaction commits, a
re-run replaces rather than appends, and the row lock serialises two runs of the same document.
Errors a person can act on (`UploadRejected`, `IngestFailed`) fail the document at once with their
`user_message`; anything else (database or file store unreachable, a timeout) is re-raised so RQ
retries it, and only the last attempt marks the document `failed`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy.exc import IntegrityError

from techdocs_app.db import accounts
from techdocs_app.db import documents as docs_db
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import Document, utcnow
from techdocs_app.errors import ProviderError, TechDocsError, UploadRejected
from techdocs_app.providers.base import Embedder
from techdocs_app.settings import get_settings
from techdocs_app.storage import document_key, get_file_store

log = logging.getLogger(__name__)

EMBED_BATCH = 64
PROGRESS_EVERY_S = 0.5
"""Progress writes are throttled: at most one UPDATE per this many seconds (plus the last page)."""

RETRYABLE_FAILURE = (
    "We could not finish processing this manual (a service was unavailable). "
    "Press Retry; if it keeps failing, upload a fresh copy of the PDF."
)
CRASHED_FAILURE = (
    "Processing this manual stopped unexpectedly several times. "
    "Press Retry, or upload a fresh copy of the PDF."
)


class DocumentGone(Exception):
    """The document was deleted while its job ran: stop quietly."""


# ---- upload --------------------------------------------------------------------------------------


def clean_filename(filename: str) -> str:
    name = PurePath((filename or "").replace("\\", "/")).name.strip()
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)
    if not name:
        name = "document.pdf"
    if len(name) > 300:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:290] + dot + ext) if dot and len(ext) <= 8 else name[:300]
    return name


_JUNK_TITLE = re.compile(r"^(untitled|microsoft word|document\d*$|.*\.(docx?|pdf|indd|qxd)$)", re.I)


_GENERIC_WORDS = {"datasheet", "manual", "guide", "user", "service", "data", "sheet", "the", "and"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]{3,}", text.lower()) if w not in _GENERIC_WORDS}


def document_title(filename: str, metadata_title: str | None) -> str:
    """A readable title: the file name the shop gave it, or the PDF's own title when that is
    clearly about the same thing (shares a distinctive word with the file name).

    PDF metadata titles are mostly junk in practice ("X00  2001", "Job1", "Microsoft Word - …",
    "DATASHEET SEARCH SITE == …"), and the title is shown on every source and prepended to every
    chunk's heading, so a wrong one costs more than a plain file name.
    """
    stem = PurePath(filename).stem
    from_name = " ".join(re.sub(r"[_]+", " ", stem).split()) or filename
    meta = " ".join((metadata_title or "").split())
    if (
        4 <= len(meta) <= 200
        and not _JUNK_TITLE.match(meta)
        and _words(meta) & _words(stem)
        and "search site" not in meta.lower()
        and "_" not in meta
    ):
        return meta
    return from_name


@dataclass(frozen=True)
class Registered:
    document: Document
    duplicate: bool


def _size_label(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def register_upload(
    *, org_id: int, filename: str, data: bytes | Path, uploaded_by: int | None = None
) -> Registered:
    """Validate, de-duplicate, store and record an upload as a `pending` document.

    `data` is the file's bytes, or the path of a file streamed to disk (the web upload), which
    is then never read whole into memory. Raises `UploadRejected` (nothing stored) for files we
    will not keep.
    """
    from techdocs_app.rag.pdf import inspect_pdf

    settings = get_settings()
    filename = clean_filename(filename)
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if size > settings.max_upload_bytes:
        raise UploadRejected(
            f"This file is {_size_label(size)}; the limit is {settings.max_upload_mb} MB. "
            "Split the manual into smaller PDFs or compress it, then upload again."
        )
    info = inspect_pdf(data)  # empty, not a PDF, encrypted, damaged, zero pages
    if info.pages > settings.max_pages:
        raise UploadRejected(
            f"This PDF has {info.pages:,} pages; the limit is {settings.max_pages:,}. "
            "Split it into smaller PDFs and upload those."
        )
    sha256 = _sha256_file(data) if isinstance(data, Path) else hashlib.sha256(data).hexdigest()
    with session_scope(org_id=org_id) as session:
        existing = docs_db.get_document_by_sha(session, org_id=org_id, sha256=sha256)
        if existing is not None:
            return Registered(existing, duplicate=True)

    key = document_key(org_id=org_id, sha256=sha256)
    if isinstance(data, Path):
        get_file_store().put_file(key, data)
    else:
        get_file_store().put(key, data)
    document = Document(
        org_id=org_id,
        filename=filename,
        title=document_title(filename, info.title),
        sha256=sha256,
        size_bytes=size,
        pages=info.pages,
        status="pending",
        storage_key=key,
        uploaded_by=uploaded_by,
    )
    try:
        with session_scope(org_id=org_id) as session:
            session.add(document)
            session.flush()
            session.refresh(document)
    except IntegrityError:
        # The same file uploaded twice at the same moment: the other upload won.
        with session_scope(org_id=org_id) as session:
            existing = docs_db.get_document_by_sha(session, org_id=org_id, sha256=sha256)
        if existing is None:
            raise
        return Registered(existing, duplicate=True)
    log.info("document %s stored for org %s (%s pages)", document.id, org_id, info.pages)
    return Registered(document, duplicate=False)


# ---- the job ---------------------------------------------------------------------------------------


class _Progress:
    """`on_page` callback: writes pages_done at most every PROGRESS_EVERY_S seconds."""

    def __init__(self, document_id: int, org_id: int | None = None) -> None:
        self.document_id = document_id
        self.org_id = org_id
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        with session_scope(org_id=self.org_id) as session:
            if not docs_db.update_document(
                session, document_id=self.document_id, pages_done=done, pages=total
            ):
                raise DocumentGone(self.document_id)


def child_drafts(drafts: Sequence[Any]) -> list[Any]:
    return [d for d in drafts if d.kind != "section"]


def embed_drafts(
    drafts: Sequence[Any], embedder: Embedder, *, batch: int = EMBED_BATCH
) -> list[list[float]]:
    """Vectors for the searchable (child) drafts, in order, embedded in batches."""
    children = child_drafts(drafts)
    vectors: list[list[float]] = []
    for start in range(0, len(children), batch):
        part = children[start : start + batch]
        vectors.extend(embedder.embed_documents([d.embed_text or d.content for d in part]))
    if len(vectors) != len(children):
        raise ProviderError(detail=f"embedder returned {len(vectors)} vectors for {len(children)}")
    return vectors


def chunk_rows(
    drafts: Sequence[Any],
    vectors: Sequence[Sequence[float]],
    *,
    org_id: int,
    document_id: int,
    title: str,
    embed_model: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Drafts → (parent rows, child rows) for `documents.replace_chunks`."""
    parents: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    it = iter(vectors)
    for ordinal, d in enumerate(drafts):
        row: dict[str, Any] = {
            "org_id": org_id,
            "document_id": document_id,
            "ordinal": ordinal,
            "kind": d.kind,
            "page_start": d.page_start,
            "page_end": d.page_end,
            "section_path": list(d.section_path),
            "heading": " > ".join([title, *[s for s in d.section_path if s]]),
            "content": d.content,
            "identifiers": " ".join(d.identifiers),
            "positions": list(d.positions),
            "token_count": d.token_count,
            "embed_model": embed_model,
        }
        if d.kind == "section":
            row["key"] = d.key
            row["embedding"] = None
            parents.append(row)
        else:
            row["parent_key"] = d.parent_key
            row["embedding"] = list(next(it))
            children.append(row)
    return parents, children


def store_chunks(
    *,
    document_id: int,
    drafts: Sequence[Any],
    vectors: Sequence[Sequence[float]],
    embed_model: str,
    pages: int,
    ocr_pages: int,
    org_id: int,
) -> Document | None:
    """The one transaction: lock the document, replace its chunks, mark it ready, bump the index.

    `org_id` is the document's organization, required: under row-level security an unscoped
    session sees no document, which would read as "deleted meanwhile". Returns None when the
    document was deleted meanwhile (nothing is written).
    """
    with session_scope(org_id=org_id) as session:
        document = docs_db.lock_document(session, document_id=document_id)
        if document is None:
            return None
        parents, children = chunk_rows(
            drafts,
            vectors,
            org_id=document.org_id,
            document_id=document_id,
            title=document.title or document.filename,
            embed_model=embed_model,
        )
        docs_db.replace_chunks(
            session,
            org_id=document.org_id,
            document_id=document_id,
            parents=parents,
            children=children,
        )
        now = utcnow()
        document.status = "ready"
        document.pages = pages
        document.pages_done = pages
        document.chunk_count = len(children)
        document.ocr_pages = ocr_pages
        document.embed_model = embed_model
        document.error_message = None
        document.processed_at = now
        document.updated_at = now
        session.add(document)
        accounts.bump_index_version(session, org_id=document.org_id)
        session.flush()
        session.refresh(document)
        return document


def _mark(document_id: int, org_id: int | None, **values: Any) -> Document | None:
    """Update one document in its organization's scope (looked up when the caller has no org:
    under row-level security an unscoped update would silently change nothing)."""
    if org_id is None:
        with system_session_scope() as session:
            found = docs_db.get_document_for_job(session, document_id=document_id)
            if found is None:
                return None
            org_id = found.org_id
    with session_scope(org_id=org_id) as session:
        docs_db.update_document(session, document_id=document_id, **values)
        return docs_db.get_document_for_job(session, document_id=document_id)


def mark_failed(document_id: int, message: str, *, org_id: int | None = None) -> Document | None:
    """Best effort: the database may be the thing that is down."""
    try:
        return _mark(document_id, org_id, status="failed", error_message=message)
    except Exception:  # noqa: BLE001 - the original failure is what matters; it is logged/raised
        log.exception("could not mark document %s failed", document_id)
        return None


def run_ingest(
    document_id: int,
    *,
    org_id: int | None = None,
    final_attempt: bool = True,
    embedder: Embedder | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> Document | None:
    """Process one stored document. Returns the document (ready or failed), None if it was deleted.

    `final_attempt=False` (an RQ attempt with retries left) re-raises unexpected errors without
    failing the document, so the retry can still succeed. `org_id` is the job's organization (every
    session is scoped to it); None looks it up from the document.
    """
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.chunking import chunk_document
    from techdocs_app.rag.pdf import extract_document

    settings = get_settings()
    if org_id is None:
        with system_session_scope() as session:
            found = docs_db.get_document_for_job(session, document_id=document_id)
            org_id = found.org_id if found is not None else None
    try:
        with session_scope(org_id=org_id) as session:
            document = docs_db.get_document_for_job(session, document_id=document_id)
            if document is None:
                log.info("document %s no longer exists: nothing to do", document_id)
                return None
            org_id = document.org_id
            docs_db.update_document(
                session,
                document_id=document_id,
                status="processing",
                pages_done=0,
                error_message=None,
            )
            title = document.title or document.filename
            storage_key = document.storage_key
        progress = _Progress(document_id, org_id)

        def report(done: int, total: int) -> None:
            progress(done, total)
            if on_page:
                on_page(done, total)

        with get_file_store().local_copy(storage_key) as path:
            pages = extract_document(path, workers=settings.workers_per_ingest, on_page=report)
        drafts = chunk_document(
            pages,
            title=title,
            chunk_tokens=settings.chunk_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
            parent_tokens=settings.parent_chunk_tokens,
        )
        embedder = embedder or get_embedder()
        vectors = embed_drafts(drafts, embedder)
        stored = store_chunks(
            document_id=document_id,
            drafts=drafts,
            vectors=vectors,
            embed_model=embedder.model_name,
            pages=len(pages),
            ocr_pages=sum(1 for p in pages if p.ocr),
            org_id=org_id,
        )
        if stored is not None:
            log.info(
                "document %s ready: %s pages, %s chunks",
                document_id,
                stored.pages,
                stored.chunk_count,
            )
        return stored
    except DocumentGone:
        log.info("document %s was deleted while processing", document_id)
        return None
    except ProviderError:
        if final_attempt:
            failed = mark_failed(document_id, RETRYABLE_FAILURE, org_id=org_id)
            if failed is not None:
                return failed
        else:
            _back_to_pending(document_id, org_id)
        raise
    except TechDocsError as exc:
        # The user can act on these (password, damaged file, OCR missing…): no point retrying.
        log.warning("document %s failed: %s", document_id, exc.detail or exc.user_message)
        return mark_failed(document_id, exc.user_message, org_id=org_id)
    except Exception:
        if final_attempt:
            mark_failed(document_id, RETRYABLE_FAILURE, org_id=org_id)
        else:
            _back_to_pending(document_id, org_id)
        raise


def _back_to_pending(document_id: int, org_id: int | None = None) -> None:
    """Best effort while a retry is due: show `pending`, not a stalled progress bar."""
    try:
        _mark(document_id, org_id, status="pending", pages_done=0)
    except Exception:  # noqa: BLE001 - the database may be the thing that is down
        log.warning("could not reset document %s to pending", document_id)


# ---- in-process entry point --------------------------------------------------------------------


def ingest_path(*, org_id: int, path: Path, uploaded_by: int | None = None) -> Document:
    """Validate → store → extract → chunk → embed → store chunks, synchronously (no queue).

    A duplicate returns the existing document (re-processed first unless it is already ready).
    Raises `UploadRejected` when the file is refused before storing.
    """
    path = Path(path)
    registered = register_upload(
        org_id=org_id, filename=path.name, data=path.read_bytes(), uploaded_by=uploaded_by
    )
    document = registered.document
    if registered.duplicate and document.status == "ready":
        return document
    assert document.id is not None
    result = run_ingest(document.id, org_id=org_id)
    if result is None:  # deleted by someone else meanwhile
        return document
    return result
