"""Upload → RQ job → real worker (RQ SimpleWorker, in-process, burst) → searchable chunks.

Also: progress while it runs, delete and re-index from any state, a model change, and the database
going away in the middle of a job (a real TCP proxy in front of Postgres that cuts every connection
when the job starts writing its chunks, then refuses connections until it is started again).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from rq.job import JobStatus
from sqlalchemy import create_engine, text, update
from sqlmodel import select

from techdocs_app import jobs, library
from techdocs_app.db.engine import get_engine, system_session_scope
from techdocs_app.db.models import Chunk, Document, Organization
from techdocs_app.providers import get_embedder
from techdocs_app.rag import ingest as ingest_mod
from techdocs_app.settings import get_settings
from techdocs_app.storage import get_file_store, reset_file_store
from workers.worker import build_worker

SMALL = "trikdis_rt2.pdf"


@pytest.fixture(autouse=True)
def _fresh(db, monkeypatch):  # noqa: ANN001, ANN202
    # Retries without waiting, so that a burst worker runs them (the policy itself is unchanged).
    monkeypatch.setenv("INGEST_RETRY_INTERVALS_S", "[0, 0, 0]")
    get_settings.cache_clear()
    reset_file_store()
    jobs.reset_jobs()
    yield
    reset_file_store()
    jobs.reset_jobs()


def run_worker(max_jobs: int | None = None) -> None:
    worker = build_worker(jobs.get_redis(), simple=True)
    worker.work(burst=True, max_jobs=max_jobs, logging_level="WARNING")


def _doc(document_id: int) -> Document | None:
    with system_session_scope() as s:
        return s.get(Document, document_id)


def _chunk_count(document_id: int) -> int:
    with system_session_scope() as s:
        return len(s.exec(select(Chunk.id).where(Chunk.document_id == document_id)).all())


def _upload(owner, corpus_dir: Path, name: str = SMALL) -> library.DocumentView:  # noqa: ANN001
    result = library.upload_document(owner, filename=name, data=(corpus_dir / name).read_bytes())
    return result.document


def test_worker_processes_an_upload(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    view = _upload(owner, corpus_dir)
    run_worker()
    (ready,) = library.list_documents(owner)
    assert ready.id == view.id and ready.status == "ready", ready.error_message
    assert ready.pages_done == ready.pages == 6 and ready.chunk_count > 0
    assert ready.progress == 1.0
    job = jobs.fetch_ingest_job(view.id)
    assert job is not None and job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "ready"


def test_progress_is_visible_while_extracting(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    view = _upload(owner, corpus_dir)
    seen: list[tuple[str, int, int]] = []

    def look(done: int, total: int) -> None:
        doc = _doc(view.id)
        assert doc is not None
        seen.append((doc.status, doc.pages_done, done))

    ingest_mod.run_ingest(view.id, on_page=look)
    assert seen[0] == ("processing", 1, 1)  # the first page is written at once
    assert seen[-1] == ("processing", 6, 6)  # and the last one always
    assert all(status == "processing" for status, _, _ in seen)


def test_delete_from_pending_and_from_ready(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    pending = _upload(owner, corpus_dir)
    key = _doc(pending.id).storage_key  # type: ignore[union-attr]
    library.delete_document(owner, document_id=pending.id)
    assert _doc(pending.id) is None and not get_file_store().exists(key)
    assert jobs.get_queue(org_id=owner.org_id).count == 0
    assert jobs.fetch_ingest_job(pending.id) is None
    run_worker()  # nothing left to do

    ready = _upload(owner, corpus_dir)
    run_worker()
    assert _chunk_count(ready.id) > 0
    with system_session_scope() as s:
        version = s.get(Organization, owner.org_id).index_version  # type: ignore[union-attr]
    library.delete_document(owner, document_id=ready.id)
    assert _doc(ready.id) is None and _chunk_count(ready.id) == 0
    assert not get_file_store().exists(key)
    with system_session_scope() as s:
        assert s.get(Organization, owner.org_id).index_version == version + 1  # type: ignore[union-attr]
    assert library.list_documents(owner) == []


def test_reindex_from_ready_and_from_failed(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    view = _upload(owner, corpus_dir)
    run_worker()
    count = _chunk_count(view.id)
    again = library.reindex_document(owner, document_id=view.id)
    assert again.status == "pending" and jobs.get_queue(org_id=owner.org_id).count == 1
    run_worker()
    assert _doc(view.id).status == "ready" and _chunk_count(view.id) == count  # type: ignore[union-attr]

    # The stored file disappears: the job fails with a message, nothing is retried in vain.
    store = get_file_store()
    key = _doc(view.id).storage_key  # type: ignore[union-attr]
    data = store.get(key)
    store.delete(key)
    library.reindex_document(owner, document_id=view.id)
    run_worker()
    failed = library.get_document(owner, document_id=view.id)
    assert failed.status == "failed" and "upload the PDF again" in (failed.error_message or "")
    # Put the file back: re-index from `failed` works.
    store.put(key, data)
    assert library.reindex_document(owner, document_id=view.id).error_message is None
    run_worker()
    fixed = library.get_document(owner, document_id=view.id)
    assert fixed.status == "ready" and fixed.error_message is None
    assert _chunk_count(view.id) == count


def test_model_change_requires_reindex(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    view = _upload(owner, corpus_dir)
    run_worker()
    assert library.documents_needing_reindex(owner) == []
    # As if this manual had been embedded by another model (e.g. before an OpenAI key was set).
    with system_session_scope() as s:
        s.exec(update(Chunk).where(Chunk.document_id == view.id).values(embed_model="old-model"))  # type: ignore[arg-type]
        s.exec(update(Document).where(Document.id == view.id).values(embed_model="old-model"))  # type: ignore[arg-type]
    (stale,) = library.documents_needing_reindex(owner)
    assert stale.id == view.id
    library.reindex_document(owner, document_id=view.id)
    run_worker()
    model = get_embedder().model_name
    assert library.documents_needing_reindex(owner) == []
    with system_session_scope() as s:
        models = set(s.exec(select(Chunk.embed_model).where(Chunk.document_id == view.id)))
    assert models == {model}  # never a mix


# ---- the database goes away in the middle of a job -------------------------------------------------


class CuttingProxy:
    """A TCP proxy to Postgres. When a client sends `cut_on`, every connection is cut and the port
    stops accepting connections (as if the database host vanished) until `start()` is called again.
    """

    def __init__(self, upstream: tuple[str, int], cut_on: bytes | None = None) -> None:
        self.upstream = upstream
        self.cut_on = cut_on
        self.cuts = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def start(self, *, cut_on: bytes | None = None) -> None:
        self.cut_on = cut_on
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            if self._listener is not None:
                # shutdown() first: close() alone leaves a thread blocked in accept() listening.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    self._listener.close()
                self._listener = None
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client and self.cut_on and self.cut_on in data:
                    self.cuts += 1
                    self.stop()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)


def test_database_unreachable_during_a_job_is_retried(
    make_org, corpus_dir: Path, services: dict[str, str], monkeypatch
) -> None:  # noqa: ANN001
    clean_org = make_org("Clean Run")
    clean = ingest_mod.ingest_path(org_id=clean_org.org_id, path=corpus_dir / SMALL)
    clean_count = _chunk_count(clean.id)

    owner = make_org("Bay Auto")
    view = _upload(owner, corpus_dir)
    real_url = services["database_url"]
    parts = urlsplit(real_url)
    proxy = CuttingProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start(cut_on=b"INSERT INTO chunks")
    direct = create_engine(services["owner_database_url"])  # reads every organization
    try:
        monkeypatch.setenv(
            "DATABASE_URL",
            urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] + f":{proxy.port}")),
        )
        get_settings.cache_clear()
        get_engine.cache_clear()

        run_worker(max_jobs=1)  # attempt 1: the database vanishes as the chunks are written
        assert proxy.cuts == 1
        job = jobs.fetch_ingest_job(view.id)
        assert job is not None and job.get_status() == JobStatus.QUEUED
        assert job.retries_left == get_settings().ingest_retries - 1
        with direct.connect() as conn:
            status = conn.execute(
                text("SELECT status FROM documents WHERE id = :id"), {"id": view.id}
            ).scalar_one()
            partial = conn.execute(
                text("SELECT count(*) FROM chunks WHERE document_id = :id"), {"id": view.id}
            ).scalar_one()
        assert status == "processing"  # could not even record the failure
        assert partial == 0  # the cut transaction left nothing behind

        proxy.start()  # the database is back
        run_worker()
        doc = _doc(view.id)
        assert doc is not None and doc.status == "ready", doc.error_message
        assert _chunk_count(view.id) == clean_count
        assert get_file_store().exists(doc.storage_key)
    finally:
        proxy.stop()
        direct.dispose()
        monkeypatch.setenv("DATABASE_URL", real_url)
        get_settings.cache_clear()
        get_engine.cache_clear()


def test_a_stop_asked_while_idle_is_not_lost_inside_a_maintenance_task() -> None:
    """RQ raises `StopRequested` from its SIGTERM handler in an idle worker, wherever the worker
    is; inside a maintenance task (which catches every exception, so that a failing task never
    stops a worker) it was swallowed and the worker never stopped. A stop asked while idle is a
    flag that the idle loop honours at its next safe point, even when a task was running."""
    from rq.exceptions import StopRequested
    from rq.worker import WorkerStatus

    from techdocs_app import maintenance

    worker = build_worker(jobs.get_redis(), simple=True, name="stop-while-idle")
    worker.set_state(WorkerStatus.IDLE)

    def task_interrupted_by_sigterm() -> None:
        worker._shutdown()  # what RQ's SIGTERM handler calls, here in the middle of the task

    ran = maintenance.run_at_start(
        jobs.get_redis(),
        [
            maintenance.PeriodicTask(
                "sigterm-probe", every_s=60, run=task_interrupted_by_sigterm, at_start=True
            )
        ],
    )
    assert ran == ["sigterm-probe"]  # the task ended normally: nothing was raised into it
    with pytest.raises(StopRequested):
        worker.dequeue_job_and_maintain_ttl(timeout=5)
    jobs.get_redis().delete(worker.key)  # RQ's `work` loop ends on StopRequested


def test_an_idle_worker_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    """Waiting for work, a worker leaves as soon as it is told (Ctrl-C under `make run` is
    instant), not at the end of its 5 s wait: the stop raised inside its own BLPOP."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from rq import Worker

    from tests.processes import stop_worker

    repo = Path(__file__).resolve().parents[2]
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers.worker", "--name", "idle-stopper"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(
            w.name == "idle-stopper" and w.get_state() == "idle"
            for w in Worker.all(connection=jobs.get_redis())
        ):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        time.sleep(1.0)  # past its start-up maintenance, into its wait for work
        asked = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        assert time.monotonic() - asked < 3.0, log.read_text()[-2000:]
        assert worker.returncode == 0
    finally:
        stop_worker(worker)
