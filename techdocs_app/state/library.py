"""Library page state: upload manuals, watch them being processed, delete, re-index, filter.

Processing happens in the RQ worker; this state only reads the documents' status. While any
document is pending or processing, one background event per tab (`poll_documents`) re-reads the
list every POLL_S seconds and stops by itself once everything is Ready or Failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from techdocs_app import library, queue_health, throttles, work_pools
from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, allowed
from techdocs_app.errors import TechDocsError, UploadRejected
from techdocs_app.library import DocumentView
from techdocs_app.queue_health import FailedJob, LibraryQueueStatus
from techdocs_app.settings import get_settings
from techdocs_app.state.base import SIGN_IN_ROUTE, current_principal
from techdocs_app.upload_spool import UploadSpool

log = logging.getLogger(__name__)

UPLOAD_ID = "manuals"
MAX_FILES = 20
"""Files per upload (the drop zone takes no more)."""
POLL_S = 1.0
POLL_MAX_S = 3600.0
"""A poller gives up after this long (a worker that never comes back); a reload restarts it."""
UNFINISHED = ("pending", "processing")
STATUS_LABELS = {
    "pending": "Processing",
    "processing": "Processing",
    "ready": "Ready",
    "failed": "Failed",
}
PAUSED_LABEL = "Waiting for a worker: processing is paused"


@dataclass
class DocItem:
    id: int = 0
    title: str = ""
    filename: str = ""
    status: str = ""
    status_label: str = ""
    pages: int = 0
    pages_done: int = 0
    chunk_count: int = 0
    progress: int = 0
    progress_label: str = ""
    error: str = ""
    details: str = ""
    job_detail: str = ""
    """Owners and admins: why the job failed, from RQ's failed-job registry."""


@dataclass
class UploadItem:
    name: str = ""
    size: int = 0
    progress: int = 0
    state: str = "waiting"  # waiting | sending | stored | rejected
    message: str = ""


def _size_label(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def doc_item(
    doc: DocumentView, *, paused: bool = False, failed_job: FailedJob | None = None
) -> DocItem:
    """One row of the list. `paused`: no worker is alive, so queued manuals show why they wait."""
    label = STATUS_LABELS.get(doc.status, doc.status.title())
    if paused and doc.status in UNFINISHED:
        progress_label = PAUSED_LABEL
    elif doc.status == "pending":
        progress_label = "Waiting to start…"
    elif doc.status == "processing":
        progress_label = f"{doc.pages_done} / {doc.pages} pages"
    else:
        progress_label = ""
    details = [f"{doc.pages} page{'s' if doc.pages != 1 else ''}"]
    if doc.status == "ready":
        details.append(f"{doc.chunk_count} passage{'s' if doc.chunk_count != 1 else ''} indexed")
    details.append(_size_label(doc.size_bytes))
    return DocItem(
        id=doc.id,
        title=doc.title or doc.filename,
        filename=doc.filename,
        status=doc.status,
        status_label=label,
        pages=doc.pages,
        pages_done=doc.pages_done,
        chunk_count=doc.chunk_count,
        progress=round(doc.progress * 100),
        progress_label=progress_label,
        error=doc.error_message or "This manual could not be processed. Press Retry.",
        details=" · ".join(details),
        job_detail=_job_detail(failed_job) if doc.status == "failed" and failed_job else "",
    )


def _job_detail(job: FailedJob) -> str:
    when = f" at {job.failed_at:%Y-%m-%d %H:%M} UTC" if job.failed_at else ""
    return f"Processing job {job.job_id} failed{when}: {job.reason}"


def queue_note(status: LibraryQueueStatus) -> str:
    """Owners and admins: the organization's queue in a line ("" when nothing waits)."""
    if not status.details_visible or status.waiting == 0:
        return ""
    manuals = f"{status.waiting} manual{'s' if status.waiting != 1 else ''} waiting"
    oldest = queue_health.wait_label(status.oldest_wait_s)
    return f"Processing queue: {manuals}; the oldest has waited {oldest}."


@dataclass(frozen=True)
class LibrarySnapshot:
    items: list[DocItem]
    paused: bool
    note: str


def library_snapshot(principal: Principal, *, name_filter: str = "") -> LibrarySnapshot:
    """The documents with their queue state (blocking: run it in a thread)."""
    docs = library.list_documents(principal, name_filter=name_filter)
    status = queue_health.library_queue_status(principal)
    failures: dict[int, FailedJob] = {}
    if allowed(principal.role, Action.MANAGE_DOCUMENTS) and any(d.status == "failed" for d in docs):
        try:
            failures = {f.document_id: f for f in queue_health.failed_jobs(principal)}
        except Exception:  # noqa: BLE001 - Redis down: the rows still show their reason
            log.warning("could not read the failed-job registry", exc_info=True)
    items = [doc_item(d, paused=status.paused, failed_job=failures.get(d.id)) for d in docs]
    return LibrarySnapshot(items=items, paused=status.paused, note=queue_note(status))


def upload_progress_by_file(sizes: list[int], loaded: int, total: int) -> list[int]:
    """Per-file percentages from the progress of the one multipart request carrying all files.

    The browser sends the files in order; multipart framing adds a little to `total`, which is
    spread over the files in proportion to their size.
    """
    payload = sum(sizes)
    if not sizes or payload <= 0 or total <= 0:
        return [0 for _ in sizes]
    scale = payload / total
    sent = loaded * scale
    out: list[int] = []
    offset = 0
    for size in sizes:
        done = min(max(sent - offset, 0), size)
        out.append(100 if size == 0 else min(100, int(done * 100 / size)))
        offset += size
    return out


@dataclass
class UploadOutcome:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    """(file name, "stored" | "rejected", message) per file that arrived."""
    stored: int = 0
    duplicates: int = 0
    stopped: str = ""
    """Why the upload stopped before its end (the files after it were not read)."""


async def _receive(
    principal: Principal, chunks: AsyncIterator[Any], *, planned_files: int
) -> UploadOutcome:
    """Stream the request's files to disk, then register each one (see `receive_uploads`)."""
    settings = get_settings()
    outcome = UploadOutcome()
    try:
        await asyncio.to_thread(library.check_upload_allowed, principal, files=planned_files)
        slot = throttles.upload_slot(principal)
        slot.__enter__()
    except TechDocsError as exc:
        outcome.stopped = exc.user_message
        return outcome
    spool_dir = settings.data_dir / "spool"
    spool_dir.mkdir(parents=True, exist_ok=True)
    try:
        with UploadSpool(
            max_file_bytes=settings.max_upload_bytes, max_files=MAX_FILES, directory=spool_dir
        ) as spool:
            failed_name = ""
            try:
                async for chunk in chunks:
                    if spool.add(chunk.filename, chunk.offset, chunk.data):
                        await work_pools.UPLOADS.run(spool.flush)
                await work_pools.UPLOADS.run(spool.flush)
            except UploadRejected as exc:
                outcome.stopped = exc.user_message
                failed_name = spool.current.name if spool.current else ""
            complete = spool.files[:-1] if outcome.stopped and spool.files else spool.files
            for spooled in complete:
                try:
                    result = await work_pools.UPLOADS.run(
                        library.upload_document,
                        principal,
                        filename=spooled.name,
                        data=spooled.path,
                    )
                except TechDocsError as exc:
                    outcome.rows.append((spooled.name, "rejected", exc.user_message))
                    continue
                if result.duplicate:
                    outcome.duplicates += 1
                    outcome.rows.append((spooled.name, "stored", "Already in your library."))
                else:
                    outcome.stored += 1
                    outcome.rows.append((spooled.name, "stored", "Uploaded. Processing…"))
            if failed_name:
                outcome.rows.append((failed_name, "rejected", outcome.stopped))
    finally:
        slot.__exit__(None, None, None)
    return outcome


class LibraryState(rx.State):
    documents: list[DocItem] = []
    name_filter: str = ""
    loaded: bool = False
    total_documents: int = 0

    uploads: list[UploadItem] = []
    uploading: bool = False

    queue_paused: bool = False
    queue_note: str = ""
    can_manage: bool = False

    _polling: bool = False

    @rx.var
    def has_unfinished(self) -> bool:
        return any(d.status in UNFINISHED for d in self.documents)

    def _show(self, snapshot: LibrarySnapshot) -> None:
        self.documents = snapshot.items
        self.queue_paused = snapshot.paused
        self.queue_note = snapshot.note

    async def _list(self, principal: Principal) -> None:
        snapshot = await asyncio.to_thread(
            library_snapshot, principal, name_filter=self.name_filter
        )
        self._show(snapshot)
        self.can_manage = allowed(principal.role, Action.MANAGE_DOCUMENTS)
        if self.name_filter or len(snapshot.items) >= library.PAGE_MAX:
            self.total_documents = await asyncio.to_thread(library.count_documents, principal)
        else:
            self.total_documents = len(snapshot.items)
        self.loaded = True

    @rx.event
    async def load(self):
        """on_load: the list, and a poller if something is still being processed."""
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        await self._list(principal)
        return LibraryState.poll_documents if self.has_unfinished else None

    @rx.event
    async def set_name_filter(self, value: str):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        self.name_filter = " ".join(value.split())[:200]
        await self._list(principal)
        return None

    @rx.event(background=True)
    async def poll_documents(self):
        async with self:
            if self._polling:
                return
            self._polling = True
            principal = await current_principal(self)
        try:
            if principal is None:
                return
            started = time.monotonic()
            while time.monotonic() - started < POLL_MAX_S:
                await asyncio.sleep(POLL_S)
                async with self:
                    name_filter = self.name_filter
                try:
                    snapshot = await asyncio.to_thread(
                        library_snapshot, principal, name_filter=name_filter
                    )
                except Exception:  # noqa: BLE001 - a failed poll is retried at the next tick
                    log.exception("polling the library failed")
                    continue
                async with self:
                    if self.name_filter == name_filter:
                        self._show(snapshot)
                    unfinished = any(d.status in UNFINISHED for d in self.documents)
                if not unfinished:
                    return
        finally:
            async with self:
                self._polling = False

    # --- upload ----------------------------------------------------------------------------------

    @rx.event
    async def begin_upload(self, names: list[str], sizes: list[int]):
        """Runs just before the files go out: the rows that show per-file progress, or, when
        this person may not upload now (a member, the hourly limit), the reason on every row."""
        if not names:
            return rx.toast.error("Choose one or more PDF files first.")
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        sizes = [int(s) for s in sizes] if len(sizes) == len(names) else [0] * len(names)
        try:
            await asyncio.to_thread(
                library.check_upload_allowed, principal, files=len(names[:MAX_FILES])
            )
        except TechDocsError as exc:
            self.uploads = [
                UploadItem(name=n, size=s, progress=0, state="rejected", message=exc.user_message)
                for n, s in zip(names, sizes, strict=True)
            ]
            self.uploading = False
            return rx.toast.error(exc.user_message, duration=10000)
        self.uploads = [
            UploadItem(name=n, size=s, progress=0, state="sending")
            for n, s in zip(names, sizes, strict=True)
        ]
        self.uploading = True
        return None

    @rx.event
    def upload_progress(self, progress: dict[str, Any]):
        loaded = int(progress.get("loaded") or 0)
        total = int(progress.get("total") or 0)
        percents = upload_progress_by_file([u.size for u in self.uploads], loaded, total)
        self.uploads = [
            UploadItem(
                name=u.name,
                size=u.size,
                progress=p if u.state == "sending" else u.progress,
                state=u.state,
                message=u.message,
            )
            for u, p in zip(self.uploads, percents, strict=True)
        ]

    @rx.event(background=True)
    async def receive_uploads(self, chunks: rx.UploadChunkIterator):
        """The files arrive in chunks: each is streamed to a temporary file (stopping at
        MAX_UPLOAD_MB), then validated, stored and queued; every file gets its own result.

        Who may upload is checked before the first chunk is read (and, before that, by the
        upload guard in front of `/_upload`); a refusal returns without reading the body.
        """
        async with self:
            principal = await current_principal(self)
            planned = [u.name for u in self.uploads]
            sizes = {u.name: u.size for u in self.uploads}
        if principal is None:
            async with self:
                self.uploading = False
            yield rx.redirect(SIGN_IN_ROUTE)
            return
        outcome = await _receive(principal, chunks, planned_files=len(planned) or 1)
        results = [
            UploadItem(
                name=name, size=sizes.get(name, 0), progress=100, state=state, message=message
            )
            for name, state, message in outcome.rows
        ]
        done = {r.name for r in results}
        for name in planned:
            if name not in done and outcome.stopped:
                results.append(
                    UploadItem(
                        name=name,
                        size=sizes.get(name, 0),
                        progress=0,
                        state="rejected",
                        message=f"Not uploaded: {outcome.stopped}",
                    )
                )
        async with self:
            self.uploads = results
            self.uploading = False
            await self._list(principal)
        if outcome.stopped:
            yield rx.toast.error(outcome.stopped, duration=10000)
        for name, state, message in outcome.rows:
            if state == "rejected" and message != outcome.stopped:
                yield rx.toast.error(f"{name}: {message}", duration=10000)
        if outcome.stored:
            yield rx.toast.success(
                f"{outcome.stored} manual{'s' if outcome.stored != 1 else ''} uploaded. "
                "Processing has started."
            )
        if outcome.duplicates:
            yield rx.toast.info(
                f"{outcome.duplicates} file{'s were' if outcome.duplicates != 1 else ' was'} "
                "already in your library."
            )
        yield rx.clear_selected_files(UPLOAD_ID)
        yield LibraryState.poll_documents

    @rx.event
    def clear_uploads(self):
        self.uploads = []

    # --- actions on a document -------------------------------------------------------------------

    @rx.event
    async def delete_document(self, document_id: int):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        title = next((d.filename for d in self.documents if d.id == document_id), "The manual")
        try:
            await asyncio.to_thread(library.delete_document, principal, document_id=document_id)
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        await self._list(principal)
        return rx.toast.success(f"{title} was deleted.")

    @rx.event
    async def reindex_document(self, document_id: int):
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        try:
            await asyncio.to_thread(library.reindex_document, principal, document_id=document_id)
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        await self._list(principal)
        return [rx.toast.info("Re-indexing started."), LibraryState.poll_documents]

    @rx.event
    async def retry_document(self, document_id: int):
        """Retry a failed manual (its job goes back on the queue from RQ's failed registry)."""
        principal = await current_principal(self)
        if principal is None:
            return rx.redirect(SIGN_IN_ROUTE)
        try:
            await asyncio.to_thread(library.retry_document, principal, document_id=document_id)
        except TechDocsError as exc:
            return rx.toast.error(exc.user_message)
        await self._list(principal)
        return [rx.toast.info("Processing will start again."), LibraryState.poll_documents]
