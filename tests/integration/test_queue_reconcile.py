"""Postgres is the source of truth; Redis is a queue that can be lost.

- The queue's Redis is flushed mid-flight, with manuals pending and one processing: the running
  worker's reconciliation brings every one to Ready, each processed exactly once.
- A manual stuck in `processing` with no live job is failed with "Processing was interrupted. Press
  Retry.", and Retry brings it to Ready; one that a running job holds, or whose job waits, is not.
- The periodic tasks run once per period across workers, and a failing task stops nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from rq.job import JobStatus
from sqlalchemy import update
from sqlmodel import select

from techdocs_app import jobs, library, maintenance
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.ingest_claims import claim_document, claimed_document_ids
from techdocs_app.db.models import Chunk, Document, utcnow
from techdocs_app.settings import get_settings
from techdocs_app.storage import reset_file_store
from tests.processes import stop_worker
from workers.worker import build_worker

REPO = Path(__file__).resolve().parents[2]
LARGE = "trikdis_rl14.pdf"  # 22 pages: still processing while the test flushes Redis
SMALL = ("trikdis_rt2.pdf", "ender3_troubleshooting.pdf", "smartoptics_ts2017_sfp28.pdf")


@pytest.fixture(autouse=True)
def _fresh(db, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("INGEST_RETRY_INTERVALS_S", "[0, 0, 0]")
    get_settings.cache_clear()
    reset_file_store()
    jobs.reset_jobs()
    yield
    reset_file_store()
    jobs.reset_jobs()


def _doc(document_id: int) -> Document:
    with system_session_scope() as s:
        doc = s.get(Document, document_id)
        assert doc is not None
        return doc


def _upload(owner, corpus_dir: Path, name: str) -> int:  # noqa: ANN001
    view = library.upload_document(owner, filename=name, data=(corpus_dir / name).read_bytes())
    return view.document.id


def _age(document_id: int, seconds: float) -> None:
    """As if the document had last been touched `seconds` ago."""
    with system_session_scope() as s:
        s.exec(
            update(Document)  # type: ignore[arg-type]
            .where(Document.id == document_id)
            .values(updated_at=utcnow() - timedelta(seconds=seconds))
        )


def _burst() -> None:
    build_worker(jobs.get_redis(), simple=True).work(burst=True, logging_level="WARNING")


def test_flushed_queue_is_reconciled_each_document_once(
    make_org, corpus_dir: Path, tmp_path: Path, redis_client
) -> None:  # noqa: ANN001
    a, b = make_org("Bay Auto"), make_org("Coast HVAC")
    running = _upload(a, corpus_dir, LARGE)
    pending = [_upload(a, corpus_dir, SMALL[0]), _upload(b, corpus_dir, SMALL[1])]
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
        deadline = time.monotonic() + 120
        while not (_doc(running).status == "processing" and _doc(running).pages_done >= 1):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.02)
        assert [_doc(i).status for i in pending] == ["pending", "pending"]
        for document_id in pending:  # past the grace that protects an upload mid-enqueue
            _age(document_id, maintenance.LOST_JOB_GRACE_S + 5)

        redis_client.flushdb()  # Redis restarted without persistence: every queue key is gone
        assert jobs.fetch_ingest_job(running) is None
        assert all(jobs.fetch_ingest_job(i) is None for i in pending)
        # The running job's claim lives in Postgres: the worker's reconciliation (at its next
        # maintenance check, within seconds) must leave that document alone.
        with system_session_scope() as s:
            assert running in claimed_document_ids(s)

        deadline = time.monotonic() + 240
        every = [running, *pending]
        while not all(_doc(i).status == "ready" for i in every):
            statuses = {i: (_doc(i).status, _doc(i).error_message) for i in every}
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, (statuses, log.read_text()[-3000:])
            assert "failed" not in {s for s, _ in statuses.values()}, statuses
            time.sleep(0.2)
    finally:
        stop_worker(worker)
    text = log.read_text()
    assert "enqueued documents that had no live job" in text  # the worker did it by itself
    for document_id in every:  # processed exactly once each: one "ready" line, one set of chunks
        assert len(re.findall(rf"document {document_id} ready:", text)) == 1, text[-3000:]
        with system_session_scope() as s:
            ordinals = list(s.exec(select(Chunk.ordinal).where(Chunk.document_id == document_id)))
        assert len(ordinals) == len(set(ordinals)) > 0
    with system_session_scope() as s:
        assert len(list(s.exec(select(Document.id)))) == 3  # no document was created twice


def test_stuck_processing_document_fails_and_retry_works(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    stuck, held, waiting = (_upload(owner, corpus_dir, name) for name in SMALL)
    silent = get_settings().ingest_job_timeout_s + get_settings().ingest_stuck_margin_s + 5
    for document_id in (stuck, held, waiting):
        with system_session_scope() as s:
            s.exec(
                update(Document)  # type: ignore[arg-type]
                .where(Document.id == document_id)
                .values(status="processing", pages_done=2)
            )
        _age(document_id, silent)
    # `stuck` lost its job (a worker died long ago and Redis with it); `waiting` has its job;
    # `held` has none in Redis, but a running job holds its claim in Postgres.
    jobs.fetch_ingest_job(stuck).delete()  # type: ignore[union-attr]
    jobs.fetch_ingest_job(held).delete()  # type: ignore[union-attr]
    with claim_document(document_id=held) as claimed:
        assert claimed
        assert maintenance.fail_stuck_documents() == [stuck]
    failed = library.get_document(owner, document_id=stuck)
    assert failed.status == "failed"
    assert failed.error_message == "Processing was interrupted. Press Retry."
    assert _doc(held).status == "processing" and _doc(waiting).status == "processing"

    retried = library.retry_document(owner, document_id=stuck)
    assert retried.status == "pending" and retried.error_message is None
    job = jobs.fetch_ingest_job(stuck)
    assert job is not None and job.get_status() == JobStatus.QUEUED
    _burst()
    ready = library.get_document(owner, document_id=stuck)
    assert ready.status == "ready" and ready.chunk_count > 0


def test_stuck_document_is_failed_by_a_starting_worker(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    """The same through the worker: a worker's start-up maintenance fails it, nothing else runs it."""
    owner = make_org("Bay Auto")
    stuck = _upload(owner, corpus_dir, SMALL[0])
    jobs.fetch_ingest_job(stuck).delete()  # type: ignore[union-attr]
    with system_session_scope() as s:
        s.exec(update(Document).where(Document.id == stuck).values(status="processing"))  # type: ignore[arg-type]
    _age(stuck, get_settings().ingest_job_timeout_s + get_settings().ingest_stuck_margin_s + 5)
    _burst()
    assert _doc(stuck).status == "failed"
    assert _doc(stuck).error_message == maintenance.STUCK_FAILURE
    assert jobs.fetch_ingest_job(stuck) is None  # failed, not queued again


def test_reconcile_enqueues_lost_jobs_once_and_spares_new_uploads(
    make_org, corpus_dir: Path, redis_client
) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    lost, fresh, held = (_upload(owner, corpus_dir, name) for name in SMALL)
    redis_client.flushdb()
    with system_session_scope() as s:
        s.exec(update(Document).where(Document.id == held).values(status="processing"))  # type: ignore[arg-type]
    _age(lost, maintenance.LOST_JOB_GRACE_S + 5)
    _age(held, maintenance.LOST_JOB_GRACE_S + 5)
    with claim_document(document_id=held) as claimed:  # a job is running it (Redis forgot)
        assert claimed
        # `fresh` may still be between its INSERT and its enqueue; `held` is in a job's hands.
        assert maintenance.reconcile_documents() == [lost]
        assert maintenance.reconcile_documents() == []  # its job exists now: never a second
    queue = jobs.get_queue(org_id=owner.org_id)
    assert queue.job_ids == [jobs.ingest_job_id(lost)]
    job = jobs.fetch_ingest_job(lost)
    assert job is not None and job.args == (lost, owner.org_id)
    assert jobs.fetch_ingest_job(fresh) is None


def test_periodic_tasks_run_once_per_period_and_survive_failures(redis_client) -> None:  # noqa: ANN001
    calls: list[str] = []

    def boom() -> None:
        calls.append("boom")
        raise RuntimeError("a task that fails")

    tasks = (
        maintenance.PeriodicTask("test-boom", every_s=60, run=boom, at_start=True),
        maintenance.PeriodicTask("test-ok", every_s=60, run=lambda: calls.append("ok")),
        maintenance.PeriodicTask("test-by-name", every_s=60, run="time:monotonic"),
    )
    assert maintenance.run_at_start(redis_client, tasks) == ["test-boom"]
    assert maintenance.run_due(redis_client, tasks) == ["test-ok", "test-by-name"]
    assert maintenance.run_due(redis_client, tasks) == []  # another worker, same minute: nothing
    assert calls == ["boom", "ok"]
    redis_client.delete(maintenance.CLAIM_PREFIX + "test-ok")  # its period is over
    assert maintenance.run_due(redis_client, tasks) == ["test-ok"]
    assert [t.name for t in maintenance.TASKS][:3] == [
        "recover-abandoned-jobs",
        "fail-stuck-documents",
        "reconcile-documents",
    ]
