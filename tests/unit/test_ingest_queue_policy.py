"""Pure policies of the ingestion queue: fair order across organizations, the Library's words for
queue states and failed jobs, and how adding a periodic task looks."""

from __future__ import annotations

from datetime import UTC, datetime

from techdocs_app import jobs, maintenance
from techdocs_app.library import DocumentView
from techdocs_app.queue_health import FailedJob, LibraryQueueStatus, failure_reason, wait_label
from techdocs_app.state.library import PAUSED_LABEL, doc_item, queue_note
from workers.fair import QueueLoad, fair_order


def load(name: str, waiting: int, running: int = 0, last: int = 0) -> QueueLoad:
    return QueueLoad(name=name, waiting=waiting, running=running, last_served=last)


def test_fair_order_round_robin_between_shops() -> None:
    # A was served last (seq 7) and has 50 waiting; B has one and was served long ago.
    assert fair_order([load("a", 50, last=7), load("b", 1, last=3)]) == ["b", "a"]
    # A new shop (never served) goes before both.
    assert fair_order([load("a", 50, last=7), load("b", 1, last=3), load("c", 1)]) == [
        "c",
        "b",
        "a",
    ]
    # Empty queues are not candidates.
    assert fair_order([load("a", 0), load("b", 0, running=1)]) == []


def test_fair_order_serves_the_shop_with_fewest_jobs_running_first() -> None:
    # A's large manual runs on one worker; the free worker serves B even though A waited longer.
    assert fair_order([load("a", 3, running=1, last=1), load("b", 1, last=2)]) == ["b", "a"]
    # When everyone has something running, round-robin decides.
    assert fair_order([load("a", 3, running=1, last=5), load("b", 1, running=1, last=4)]) == [
        "b",
        "a",
    ]


def test_queue_names() -> None:
    assert jobs.org_queue_name(42) == "ingest-org-42"
    assert jobs.is_ingest_queue("ingest-org-42") and jobs.is_ingest_queue("ingest")
    assert not jobs.is_ingest_queue("default") and not jobs.is_ingest_queue("ingesting")
    assert jobs.ingest_job_id(7) == "ingest-7"


def test_failure_reasons_are_plain_and_leak_nothing() -> None:
    assert "killed (signal 9)" in failure_reason(
        "Work-horse terminated unexpectedly; waitpid returned 9 (signal 9); "
    )
    assert "time limit" in failure_reason(
        "Traceback...\nrq.timeouts.JobTimeoutException: Task exceeded maximum timeout value (3600 "
        "seconds)"
    )
    assert "stopped in the middle" in failure_reason(
        "AbandonedJobError: abandoned: its worker died"
    )
    secret = "psycopg.OperationalError: connection to server at 10.0.0.5 failed: password=hunter2"
    reason = failure_reason("Traceback (most recent call last):\n  ...\n" + secret)
    assert reason == "An unexpected error stopped it (OperationalError)."
    assert failure_reason(None) == "It stopped with an unexpected error."


def test_wait_labels() -> None:
    assert wait_label(None) == wait_label(12) == "under a minute"
    assert wait_label(4 * 60 + 5) == "4 min"
    assert wait_label(2 * 3600 + 5 * 60) == "2 h 5 min"
    assert wait_label(3 * 86400) == "3 days"


def _view(status: str, **kw: object) -> DocumentView:
    values: dict = dict(
        id=1,
        filename="manual.pdf",
        title="Manual",
        status=status,
        pages=10,
        pages_done=4,
        chunk_count=0,
        error_message=None,
        created_at=datetime.now(UTC),
        size_bytes=2048,
    )
    values.update(kw)
    return DocumentView(**values)


def test_paused_label_on_queued_and_processing_rows_only() -> None:
    assert doc_item(_view("pending"), paused=True).progress_label == PAUSED_LABEL
    assert doc_item(_view("processing"), paused=True).progress_label == PAUSED_LABEL
    assert doc_item(_view("pending")).progress_label == "Waiting to start…"
    assert doc_item(_view("processing")).progress_label == "4 / 10 pages"
    assert doc_item(_view("ready"), paused=True).progress_label == ""
    assert PAUSED_LABEL == "Waiting for a worker: processing is paused"


def test_failed_row_carries_the_job_reason() -> None:
    job = FailedJob(
        document_id=1,
        job_id="ingest-1",
        reason="The process working on it was killed (signal 9), for example for lack of memory.",
        failed_at=datetime(2026, 3, 4, 5, 6, tzinfo=UTC),
    )
    row = doc_item(
        _view("failed", error_message="Processing was interrupted. Press Retry."), failed_job=job
    )
    assert row.error == "Processing was interrupted. Press Retry."
    assert row.job_detail == (
        "Processing job ingest-1 failed at 2026-03-04 05:06 UTC: The process working on it was "
        "killed (signal 9), for example for lack of memory."
    )
    assert doc_item(_view("ready"), failed_job=job).job_detail == ""


def test_queue_note_for_admins_only() -> None:
    admin = LibraryQueueStatus(paused=False, details_visible=True, waiting=3, oldest_wait_s=725)
    assert queue_note(admin) == "Processing queue: 3 manuals waiting; the oldest has waited 12 min."
    member = LibraryQueueStatus(paused=True, details_visible=False)
    assert queue_note(member) == ""
    idle = LibraryQueueStatus(paused=False, details_visible=True, waiting=0)
    assert queue_note(idle) == ""


def test_adding_a_periodic_task_is_one_line() -> None:
    task = maintenance.PeriodicTask("purge-query-logs", every_s=86400, run="time:monotonic")
    assert callable(task.resolve()) and task.at_start is False
    names = [t.name for t in maintenance.TASKS]
    assert len(names) == len(set(names))
    assert {"recover-abandoned-jobs", "fail-stuck-documents", "reconcile-documents"} <= set(names)
    assert "Press Retry" in maintenance.STUCK_FAILURE
