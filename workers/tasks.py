"""RQ job functions: top-level, importable, taking ids only (the database holds everything else).

`ingest_document(document_id, org_id)` is enqueued by `techdocs_app.jobs.enqueue_ingest` with
retries and a timeout. It works inside the job's organization (`session_scope(org_id=...)`) and
holds the document's processing claim in Postgres while it runs (`db.ingest_claims`), so two runs
of one document never overlap, whatever happened to Redis.

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

from techdocs_app.maintenance import record_lost_attempt

log = logging.getLogger(__name__)

RUNNING_ELSEWHERE = "running-elsewhere"


def ingest_document(document_id: int, org_id: int | None = None) -> str:
    """Extract, chunk, embed and store one document. Returns its final status.

    `org_id` is None only for jobs queued by an earlier version (the document then names it).
    """
    from techdocs_app.db.ingest_claims import claim_document
    from techdocs_app.rag.ingest import run_ingest

    job = get_current_job()
    final_attempt = job is None or not job.retries_left
    with claim_document(document_id=int(document_id)) as claimed:
        if not claimed:
            # Another run (e.g. the orphaned work horse of a killed worker) is still processing
            # it and will finish it; if that run dies, the reconciliation queues it again.
            log.warning("document %s is being processed by another run; leaving it", document_id)
            return RUNNING_ELSEWHERE
        document = run_ingest(
            int(document_id),
            org_id=int(org_id) if org_id is not None else None,
            final_attempt=final_attempt,
        )
    return document.status if document is not None else "deleted"


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
