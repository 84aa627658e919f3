"""Stalled work is visible: with no worker running, the Library shows that processing is paused (and
admins how long the oldest job has waited) and `/api/health/worker` says so; starting a worker
clears both. Failed jobs show their reason from RQ's failed-job registry, and Retry requeues them.

Real Redis (RQ's worker registry), a real `python -m workers.worker` process, the real HTTP route."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from rq import Queue, Worker
from rq.job import JobStatus
from rq.utils import utcformat
from starlette.testclient import TestClient

from techdocs_app import jobs, library, queue_health
from techdocs_app.api import api
from techdocs_app.errors import PermissionDenied
from techdocs_app.rag.ingest import CRASHED_FAILURE
from techdocs_app.settings import get_settings
from techdocs_app.state.library import PAUSED_LABEL, library_snapshot
from techdocs_app.storage import reset_file_store
from tests.processes import stop_worker

REPO = Path(__file__).resolve().parents[2]
SMALL = "trikdis_rt2.pdf"


@pytest.fixture(autouse=True)
def _fresh(db):  # noqa: ANN001, ANN202
    reset_file_store()
    jobs.reset_jobs()
    yield
    reset_file_store()
    jobs.reset_jobs()


def _health(client: TestClient) -> tuple[int, dict]:
    response = client.get("/api/health/worker")
    return response.status_code, response.json()


def _until(predicate, what: str, timeout: float = 120) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_no_worker_is_shown_and_a_worker_clears_it(
    make_org, corpus_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    member = replace(owner, role="member")
    view = library.upload_document(
        owner, filename=SMALL, data=(corpus_dir / SMALL).read_bytes()
    ).document
    client = TestClient(api)

    # No worker: the Library says why the manual waits, admins see for how long; members do not.
    seen = library_snapshot(owner)
    assert seen.paused and seen.items[0].progress_label == PAUSED_LABEL
    assert seen.note.startswith("Processing queue: 1 manual waiting; the oldest has waited ")
    as_member = library_snapshot(member)
    assert as_member.paused and as_member.items[0].progress_label == PAUSED_LABEL
    assert as_member.note == ""
    code, body = _health(client)
    assert code == 503 and body["status"] == "no_workers" and body["workers"] == 0
    assert body["queued"] == 1 and body["oldest_queued_age_s"] >= 0

    # A worker whose heartbeat stopped a minute ago (SIGKILLed) does not count as alive.
    ghost = Worker(
        [Queue(jobs.LEGACY_QUEUE, connection=jobs.get_redis())], connection=jobs.get_redis()
    )
    ghost.register_birth()
    stale = datetime.now(UTC) - timedelta(seconds=queue_health.HEARTBEAT_STALE_S + 5)
    jobs.get_redis().hset(ghost.key, "last_heartbeat", utcformat(stale))
    assert _health(client)[1]["workers"] == 0

    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers.worker"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _until(lambda: _health(client)[0] == 200, "the health route to see the worker")
        code, body = _health(client)
        assert body["status"] == "ok" and body["workers"] == 1
        _until(lambda: library.get_document(owner, document_id=view.id).status == "ready", "ready")
        after = library_snapshot(owner)
        assert not after.paused and after.note == ""
        assert after.items[0].progress_label == ""
        assert _health(client)[1]["queued"] == 0
    finally:
        stop_worker(worker)
    # A worker that stops cleanly leaves RQ's registry at once: paused again, no minute's wait.
    assert _health(client)[0] == 503
    assert library_snapshot(owner).paused


def test_failed_job_shows_its_reason_and_retry_requeues_it(
    make_org, corpus_dir: Path, tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    """A job's last attempt is killed (as the OOM killer would): RQ records it in its failed-job
    registry; admins see why, and Retry puts that job back with its retries restored."""
    owner = make_org("Bay Auto")
    other = make_org("Other Shop")
    monkeypatch.setenv("INGEST_RETRIES", "0")  # this attempt is the last one
    get_settings.cache_clear()
    view = library.upload_document(
        owner, filename=SMALL, data=(corpus_dir / SMALL).read_bytes()
    ).document
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers.worker"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _until(
            lambda: library.get_document(owner, document_id=view.id).status == "processing",
            "processing",
        )
        (horse,) = [
            p for p in psutil.Process(worker.pid).children() if os.getpgid(p.pid) != worker.pid
        ]
        for p in [*horse.children(recursive=True), horse]:
            p.send_signal(signal.SIGKILL)
        _until(
            lambda: library.get_document(owner, document_id=view.id).status == "failed",
            "the document to fail",
        )
        failed_doc = library.get_document(owner, document_id=view.id)
        assert failed_doc.error_message == CRASHED_FAILURE

        _until(lambda: bool(queue_health.failed_jobs(owner)), "RQ to record the failure")
        (failed,) = queue_health.failed_jobs(owner)
        assert failed.document_id == view.id and "killed (signal 9)" in failed.reason
        assert queue_health.failed_jobs(other) == []  # another shop sees none of it
        with pytest.raises(PermissionDenied):
            queue_health.failed_jobs(replace(owner, role="member"))
        (row,) = library_snapshot(owner).items
        assert row.status == "failed" and row.error == CRASHED_FAILURE
        assert f"Processing job ingest-{view.id} failed at " in row.job_detail
        assert "killed (signal 9)" in row.job_detail
        assert library_snapshot(replace(owner, role="member")).items[0].job_detail == ""
        with pytest.raises(PermissionDenied):
            library.retry_document(replace(owner, role="member"), document_id=view.id)

        monkeypatch.setenv("INGEST_RETRIES", "3")
        get_settings.cache_clear()
        retried = library.retry_document(owner, document_id=view.id)
        assert retried.status == "pending" and retried.error_message is None
        job = jobs.fetch_ingest_job(view.id)
        assert job is not None and job.retries_left == 3  # the Retry restores the retries
        assert queue_health.failed_jobs(owner) == []  # moved out of RQ's registry, not copied
        _until(
            lambda: library.get_document(owner, document_id=view.id).status == "ready",
            "the retried document to be ready",
        )
    finally:
        stop_worker(worker)
    assert jobs.fetch_ingest_job(view.id).get_status() == JobStatus.FINISHED  # type: ignore[union-attr]
