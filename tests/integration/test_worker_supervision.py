"""Under the supervisor (`python -m workers.supervisor`, what `make run` starts), a worker SIGKILLed
with its work horse mid-document is restarted, the document becomes Ready with the same chunks as a
clean run, and another shop's upload made during the outage is processed too. Stopping the
supervisor (Ctrl-C) stops everything and puts the job in progress back without using a retry.

Real processes, real signals, the real Postgres and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from rq.job import JobStatus
from sqlmodel import select

from techdocs_app import jobs, library
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import Chunk, Document
from techdocs_app.rag.ingest import ingest_path
from techdocs_app.settings import get_settings
from techdocs_app.storage import reset_file_store

REPO = Path(__file__).resolve().parents[2]
SMALL = "trikdis_rt2.pdf"
OTHER = "ender3_troubleshooting.pdf"
LARGE = "stm32f103_datasheet.pdf"  # 130 pages: still running when the stop's grace period ends


@pytest.fixture(autouse=True)
def _fresh(db):  # noqa: ANN001, ANN202
    reset_file_store()
    jobs.reset_jobs()
    yield
    reset_file_store()
    jobs.reset_jobs()


def _rows(org_id: int, document_id: int) -> list[tuple[str, str]]:
    with session_scope(org_id=org_id) as s:
        return [
            (c.kind, c.content)
            for c in s.exec(
                select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.ordinal)
            )
        ]


def _doc(document_id: int) -> Document:
    with system_session_scope() as s:
        doc = s.get(Document, document_id)
        assert doc is not None
        return doc


def _wait(predicate, what: str, log: Path, timeout: float = 180) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{_tail(log)}"
        time.sleep(0.02)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"


def _supervisor(log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workers.supervisor", "--workers", "1", "--log", str(log)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,  # it logs to `log` too (the workers' output goes there)
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _worker_of(supervisor: subprocess.Popen[bytes]) -> psutil.Process:
    (worker,) = psutil.Process(supervisor.pid).children()
    return worker


def _stop(supervisor: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> list[psutil.Process]:
    """Stop the supervisor like Ctrl-C does; return whatever it left alive (should be nothing)."""
    if supervisor.poll() is not None:
        return []
    tree = psutil.Process(supervisor.pid).children(recursive=True)
    supervisor.send_signal(sig)
    try:
        supervisor.wait(timeout=60)
    finally:
        if supervisor.poll() is None:
            for p in [*tree, psutil.Process(supervisor.pid)]:
                p.kill()
    return [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_killed_worker_is_restarted_and_finishes_the_document(
    make_org, corpus_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    clean_org = make_org("Clean Run")
    clean = ingest_path(org_id=clean_org.org_id, path=corpus_dir / SMALL)
    clean_rows = _rows(clean_org.org_id, clean.id)

    owner = make_org("Bay Auto")
    view = library.upload_document(
        owner, filename=SMALL, data=(corpus_dir / SMALL).read_bytes()
    ).document
    log = tmp_path / "workers.log"
    supervisor = _supervisor(log)
    try:

        def extracting() -> bool:
            assert supervisor.poll() is None, _tail(log)
            doc = _doc(view.id)
            return doc.status == "processing" and doc.pages_done >= 1

        _wait(extracting, "the job to be inside extraction", log)
        worker = _worker_of(supervisor)
        tree = [*worker.children(recursive=True), worker]
        assert len(tree) >= 2, "no work horse under the worker"
        for p in tree:  # the worker, its work horse (and the horse's PDF workers), RQ's scheduler
            p.send_signal(signal.SIGKILL)
        psutil.wait_procs(tree, timeout=10)
        killed_at = time.monotonic()
        assert _doc(view.id).status == "processing"

        # Another shop uploads while no worker is running.
        other = make_org("Second Shop")
        other_view = library.upload_document(
            other, filename=OTHER, data=(corpus_dir / OTHER).read_bytes()
        ).document

        _wait(lambda: _doc(view.id).status == "ready", "the killed document to be ready", log)
        ready_s = time.monotonic() - killed_at
        _wait(lambda: _doc(other_view.id).status == "ready", "the other shop's document", log)
        print(f"\nsupervised recovery: SIGKILL -> Ready in {ready_s:.1f} s")

        assert _rows(owner.org_id, view.id) == clean_rows  # the same chunks as a clean run
        assert _doc(view.id).chunk_count == clean.chunk_count
        assert _doc(other_view.id).chunk_count > 0
        text = log.read_text()
        assert "exited with signal 9 (SIGKILL)" in text and "restart #1" in text
        assert f"job ingest-{view.id} was abandoned by worker" in text
        job = jobs.fetch_ingest_job(view.id)
        assert job is not None and job.get_status() == JobStatus.FINISHED
        assert job.retries_left == get_settings().ingest_retries - 1  # the crash used one retry
    finally:
        leftovers = _stop(supervisor)
    assert supervisor.returncode == 0, _tail(log)
    assert leftovers == []


def test_ctrl_c_stops_everything_and_puts_the_job_back(
    make_org, corpus_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    view = library.upload_document(
        owner, filename=LARGE, data=(corpus_dir / LARGE).read_bytes()
    ).document
    log = tmp_path / "workers.log"
    supervisor = _supervisor(log)
    try:

        def extracting() -> bool:
            assert supervisor.poll() is None, _tail(log)
            doc = _doc(view.id)
            return doc.status == "processing" and doc.pages_done >= 1

        _wait(extracting, "the job to be inside extraction", log)
    finally:
        leftovers = _stop(supervisor, signal.SIGINT)
    assert supervisor.returncode == 0, _tail(log)
    assert leftovers == []  # worker, work horse, scheduler: all gone
    assert _doc(view.id).status != "ready", "the job finished within the grace period"
    job = jobs.fetch_ingest_job(view.id)
    assert job is not None and job.get_status() == JobStatus.QUEUED, _tail(log)
    assert job.retries_left == get_settings().ingest_retries  # stopping is not a failure
    assert jobs.get_queue(org_id=owner.org_id).job_ids == [job.id]
    assert f"job ingest-{view.id} put back on its queue" in log.read_text()
