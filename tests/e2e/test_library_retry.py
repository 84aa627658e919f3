"""A failed ingestion job in the real Library: admins see why it failed (from RQ's failed-job
registry) and a Retry button that puts that job back on the queue; the running worker then makes
the manual Ready again. Members see that it failed, without the job's details or the button.

The failure is put where RQ's worker puts one (the job's failure result with its traceback text,
the job in the organization's `FailedJobRegistry`, the document failed with the worker's message), so the test does not wait for a
real crash and its retries; tests/integration/test_queue_health.py kills a real work-horse.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from rq.job import JobStatus
from rq.registry import FailedJobRegistry
from rq.results import Result

pytestmark = pytest.mark.e2e

MANUAL = "trikdis_rt2.pdf"
PASSWORD = "retry-test-42!"
CRASH = (
    "Traceback (most recent call last):\n"
    '  File "workers/tasks.py", line 1, in ingest_document\n'
    "rq.timeouts.JobTimeoutException: Task exceeded maximum timeout value (3600 seconds)\n"
)


def _until(check: Callable[[], bool], what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_failed_manual_shows_why_and_retry_brings_it_back(
    app_url: str, new_page: Callable[[str], Page], corpus_dir: Path, screenshot_dir: Path
) -> None:
    from techdocs_app import jobs, library
    from techdocs_app.auth import local, sessions, team
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Document

    tag = uuid.uuid4().hex[:8]
    owner = local.sign_up(
        org_name=f"Retry Garage {tag}", email=f"owner-{tag}@retry.example", password=PASSWORD
    )
    people = {}
    for role in ("admin", "member"):
        sent = team.invite(owner, email=f"{role}-{tag}@retry.example", role=role)
        people[role] = team.accept_with_new_account(
            sent.link.rsplit("/", 1)[-1], name=role.title(), password=PASSWORD
        )
    view = library.upload_document(
        owner, filename=MANUAL, data=(corpus_dir / MANUAL).read_bytes()
    ).document
    _until(
        lambda: library.get_document(owner, document_id=view.id).status == "ready",
        "the app's worker to ingest the manual",
    )

    # Its last attempt failed, as RQ records it.
    job = jobs.fetch_ingest_job(view.id)
    assert job is not None
    job.set_status(JobStatus.FAILED)
    Result.create_failure(job, ttl=3600, exc_string=CRASH)
    FailedJobRegistry(jobs.org_queue_name(owner.org_id), connection=jobs.get_redis()).add(
        job, exc_string=CRASH
    )
    with system_session_scope() as session:
        document = session.get(Document, view.id)
        assert document is not None
        document.status = "failed"
        document.error_message = "Processing took too long and was stopped. Press Retry."
        session.add(document)

    member = new_page("390x844")
    member.context.add_cookies(
        [
            {
                "name": "techdocs_session",
                "value": sessions.issue_session(people["member"]),
                "url": app_url,
            }
        ]
    )
    member.goto(app_url + "/library")
    row = member.locator(".td-doc-row", has_text=MANUAL)
    expect(row).to_contain_text("Processing took too long and was stopped.")
    expect(row.locator(".td-job-detail")).to_have_count(0)
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)

    admin = new_page("1024x768")
    admin.context.add_cookies(
        [
            {
                "name": "techdocs_session",
                "value": sessions.issue_session(people["admin"]),
                "url": app_url,
            }
        ]
    )
    admin.goto(app_url + "/library")
    row = admin.locator(".td-doc-row", has_text=MANUAL)
    expect(row).to_have_attribute("data-status", "failed")
    expect(row.locator(".td-job-detail")).to_contain_text(f"Processing job ingest-{view.id} failed")
    expect(row.locator(".td-job-detail")).to_contain_text(
        "It took longer than the processing time limit."
    )
    admin.screenshot(path=str(screenshot_dir / "library-failed-1024x768.png"), full_page=True)
    row.get_by_role("button", name="Retry").click()
    # The same job leaves RQ's failed registry for the queue, and the worker makes it Ready.
    expect(row).to_have_attribute("data-status", "ready", timeout=240_000)
    expect(row.locator(".td-job-detail")).to_have_count(0)
    registry = FailedJobRegistry(jobs.org_queue_name(owner.org_id), connection=jobs.get_redis())
    assert job.id not in registry.get_job_ids()
    assert library.get_document(owner, document_id=view.id).status == "ready"
