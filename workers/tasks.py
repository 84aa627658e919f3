"""RQ job functions: top-level, importable, taking ids only (the database holds everything else).

`ingest_document` is enqueued by `techdocs_app.jobs.enqueue_ingest` with retries and a timeout.
The failure hooks below cover the cases where the job itself never got to record a failure
(its process was killed): with retries left RQ re-runs it, otherwise the document is failed with a
message the owner can act on.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job

from techdocs_app.observability.jobs import observed_ingest_job

log = logging.getLogger(__name__)


@observed_ingest_job
def ingest_document(document_id: int) -> str:
    """Extract, chunk, embed and store one document. Returns its final status."""
    from techdocs_app.rag.ingest import run_ingest

    job = get_current_job()
    final_attempt = job is None or not job.retries_left
    document = run_ingest(int(document_id), final_attempt=final_attempt)
    return document.status if document is not None else "deleted"


def _document_id(job: Job) -> int | None:
    try:
        return int(job.args[0])
    except (IndexError, TypeError, ValueError):
        return None


def record_lost_attempt(job: Job) -> None:
    """A run of `job` died without recording anything (killed worker or work horse)."""
    from techdocs_app.rag.ingest import CRASHED_FAILURE, mark_failed

    document_id = _document_id(job)
    if document_id is None or job.func_name != "workers.tasks.ingest_document":
        return
    if job.retries_left:
        log.warning("ingest of document %s was interrupted; it will be retried", document_id)
        return
    log.error("ingest of document %s was interrupted with no retries left", document_id)
    mark_failed(document_id, CRASHED_FAILURE)


def on_ingest_failure(
    job: Job, connection: Any, exc_type: type, exc: BaseException, tb: Any
) -> None:
    """RQ failure callback. Exceptions raised by the task were already handled by `run_ingest`;
    only RQ's own abandoned-job sweep (a worker that vanished on another host) needs us here."""
    if exc_type is AbandonedJobError or isinstance(exc, AbandonedJobError):
        record_lost_attempt(job)


def on_work_horse_killed(job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
    """`Worker(work_horse_killed_handler=...)`: the forked horse died (OOM killer, segfault)."""
    record_lost_attempt(job)
