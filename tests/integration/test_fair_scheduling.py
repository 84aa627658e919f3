"""One shop must not starve the others (issue 10 §5): each organization has its own queue and the
workers drain them fairly. The order of events is asserted, never wall-clock times.

- One worker: shop A queues a batch of manuals, then shop B uploads one small manual. B's is
  processed right after the manual of A's that was first in line, long before A's batch finishes
  (one shared FIFO queue would run it last).
- Two workers: while A's large manual holds one worker, the other serves B before A's next manual.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from techdocs_app import jobs, library
from techdocs_app.db.engine import get_owner_engine, system_session_scope
from techdocs_app.db.models import Document
from techdocs_app.storage import reset_file_store
from tests.processes import stop_worker
from workers import fair
from workers.worker import build_worker

REPO = Path(__file__).resolve().parents[2]
LARGE = "trikdis_rl14.pdf"  # 22 pages
A_MORE = ("trikdis_rt2.pdf", "ender3_troubleshooting.pdf")
B_SMALL = "smartoptics_ts2017_sfp28.pdf"
A_BATCH = ("trikdis_rt2.pdf", "ender3_troubleshooting.pdf", "ender3_reference_data.pdf")


@pytest.fixture(autouse=True)
def _fresh(db):  # noqa: ANN001, ANN202
    reset_file_store()
    jobs.reset_jobs()
    yield
    reset_file_store()
    jobs.reset_jobs()


def _upload(owner, corpus_dir: Path, name: str) -> int:  # noqa: ANN001
    return library.upload_document(
        owner, filename=name, data=(corpus_dir / name).read_bytes()
    ).document.id


def _ready_order() -> list[int]:
    """Document ids in the order they became ready (each stamps `processed_at` as it commits)."""
    with system_session_scope() as s:
        docs = [d for d in s.exec(select(Document)) if d.processed_at]
    return [d.id for d in sorted(docs, key=lambda d: d.processed_at)]  # type: ignore[arg-type, misc]


@contextmanager
def _job_cannot_finish(document_id: int) -> Iterator[None]:
    """Hold the manual's row lock (a real Postgres lock, as any other transaction could): its
    running job extracts, chunks and embeds, but cannot record progress or become ready until
    the test lets go. The test asserts an order of events, never times; on a quiet machine the
    22-page manual was otherwise ready before worker two had taken B's job."""
    with get_owner_engine().connect() as conn:
        transaction = conn.begin()
        conn.execute(
            text("SELECT id FROM documents WHERE id = :id FOR UPDATE"), {"id": document_id}
        )
        try:
            yield
        finally:
            transaction.rollback()


def _status(document_id: int) -> str:
    with system_session_scope() as s:
        doc = s.get(Document, document_id)
        assert doc is not None
        return doc.status


def test_one_worker_serves_the_small_shop_between_the_large_shops_manuals(
    make_org, corpus_dir: Path
) -> None:  # noqa: ANN001
    a, b = make_org("Big Fleet Garage"), make_org("Corner HVAC")
    a_docs = [_upload(a, corpus_dir, name) for name in A_BATCH]
    b_doc = _upload(b, corpus_dir, B_SMALL)

    build_worker(jobs.get_redis(), simple=True).work(burst=True, logging_level="WARNING")

    order = _ready_order()
    assert sorted(order) == sorted([*a_docs, b_doc])
    assert order == [a_docs[0], b_doc, a_docs[1], a_docs[2]]
    assert order.index(b_doc) < order.index(a_docs[-1])  # B was ready long before A finished


def test_second_worker_serves_another_shop_while_a_large_manual_runs(
    make_org, corpus_dir: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    a, b = make_org("Big Fleet Garage"), make_org("Corner HVAC")
    large = _upload(a, corpus_dir, LARGE)
    a_next = [_upload(a, corpus_dir, n) for n in A_MORE]
    b_doc = _upload(b, corpus_dir, B_SMALL)

    log = tmp_path / "worker.log"
    first = subprocess.Popen(  # worker 1 takes A's large manual (A's queue comes first)
        [sys.executable, "-m", "workers.worker", "--name", "worker-one"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while _status(large) != "processing":
            assert first.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.02)
        with _job_cannot_finish(large):
            loads = {
                load.name: load
                for load in fair.queue_loads(
                    jobs.get_redis(),
                    [jobs.org_queue_name(a.org_id), jobs.org_queue_name(b.org_id)],
                )
            }
            assert loads[jobs.org_queue_name(a.org_id)].running == 1

            # Worker 2 (in this process) takes one job: B's, though A's next was queued first.
            build_worker(jobs.get_redis(), simple=True, name="worker-two").work(
                burst=True, max_jobs=1, logging_level="WARNING"
            )
            assert _status(b_doc) == "ready"
            assert _status(large) == "processing"  # A's large manual still holds worker 1
            assert [_status(d) for d in a_next] == ["pending", "pending"]

        deadline = time.monotonic() + 240
        while not all(_status(d) == "ready" for d in [large, *a_next]):
            assert first.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        stop_worker(first)
    order = _ready_order()
    assert order.index(b_doc) < order.index(large)
