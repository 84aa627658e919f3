"""A worker SIGKILLed in the middle of a job: the next worker recovers the job, and the result equals
a clean run's. Real `python -m workers.worker` subprocesses (forking RQ worker), real kill."""

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
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Chunk, Document
from techdocs_app.rag.ingest import ingest_path
from techdocs_app.settings import get_settings
from techdocs_app.storage import reset_file_store

REPO = Path(__file__).resolve().parents[2]
SMALL = "trikdis_rt2.pdf"


@pytest.fixture(autouse=True)
def _fresh(db):  # noqa: ANN001, ANN202
    reset_file_store()
    jobs.reset_jobs()
    yield
    reset_file_store()
    jobs.reset_jobs()


def _rows(document_id: int) -> list[tuple[str, str]]:
    with system_session_scope() as s:
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


def _kill_tree(pid: int) -> int:
    """SIGKILL a process and all its descendants (work horse, scheduler, PDF workers)."""
    root = psutil.Process(pid)
    procs = [*root.children(recursive=True), root]
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)
    return len(procs)


def _worker(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "workers.worker", *args],
        cwd=REPO,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def test_worker_killed_mid_job_is_recovered(make_org, corpus_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    clean_org = make_org("Clean Run")
    clean = ingest_path(org_id=clean_org.org_id, path=corpus_dir / SMALL)
    clean_rows = _rows(clean.id)

    owner = make_org("Bay Auto")
    view = library.upload_document(
        owner, filename=SMALL, data=(corpus_dir / SMALL).read_bytes()
    ).document
    log = tmp_path / "workers.log"
    first = _worker([], log)
    try:
        deadline = time.monotonic() + 120
        while True:  # wait until the job is inside extraction (progress written)
            doc = _doc(view.id)
            if doc.status == "processing" and doc.pages_done >= 1:
                break
            assert first.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.01)
        killed = _kill_tree(first.pid)
    finally:
        if first.poll() is None:
            _kill_tree(first.pid)
    assert killed >= 2  # the worker and its work horse at least

    doc = _doc(view.id)
    assert doc.status == "processing", "the job finished before it could be killed"
    assert _rows(view.id) == []  # nothing half-written
    job = jobs.fetch_ingest_job(view.id)
    assert job is not None and job.get_status() == JobStatus.STARTED

    second = _worker(["--burst"], log)
    try:
        assert second.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        if second.poll() is None:
            _kill_tree(second.pid)

    doc = _doc(view.id)
    assert doc.status == "ready", (doc.error_message, log.read_text()[-3000:])
    assert _rows(view.id) == clean_rows
    assert doc.chunk_count == clean.chunk_count
    job = jobs.fetch_ingest_job(view.id)
    assert job is not None and job.get_status() == JobStatus.FINISHED
    assert job.retries_left == get_settings().ingest_retries - 1
    assert "abandoned by worker" in log.read_text()
