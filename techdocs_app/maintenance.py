"""Periodic tasks the ingestion workers run: recovery, reconciliation, and (later) purges.

Every worker calls `run_at_start()` before it takes its first job and `run_due()` every few seconds
after that, while idle and while a job runs (`workers.worker`). Each task runs on one worker of the
fleet per period: the first worker to claim `techdocs:maintenance:<name>` in Redis (SET NX EX) runs
it, the others skip it. A task that raises is logged and retried at its next period; it never stops
a worker.

**Adding a periodic task is one line**: append to `TASKS`, e.g.

    PeriodicTask("purge-query-logs", every_s=24 * 3600, run=purge_query_logs),

where `run` is any zero-argument callable (import it at the top of this module, or name it as a
"module:function" string to import it lazily), and `at_start=True` if a worker should also run it
when it starts. Cross-organization work uses `db.engine.system_session_scope()`.

The ingestion tasks here make Postgres the source of truth and Redis a queue that can be lost:

1. `recover_abandoned_jobs`: a job RQ thinks is running on a worker that no longer exists (SIGKILL,
   power loss) goes back to the front of its queue at once (or fails when out of retries).
2. `fail_stuck_documents`: a document in `processing` with no sign of life for longer than the job
   timeout plus `INGEST_STUCK_MARGIN_S`, and no live job, becomes `failed` with
   "Processing was interrupted. Press Retry." (`STUCK_FAILURE`).
3. `reconcile_documents`: every `pending`/`processing` document must have a live job (queued,
   scheduled for a retry, running on a live worker, or claimed in Postgres by a running job).
   Otherwise it is enqueued again with its deterministic job id: a flushed or restarted Redis, or a
   job lost between the database commit and the enqueue, never leaves a manual waiting forever.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.results import Result
from rq.utils import now as rq_now

from techdocs_app import jobs
from techdocs_app.db import ingest_claims
from techdocs_app.db.engine import system_session_scope
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

STUCK_FAILURE = "Processing was interrupted. Press Retry."
LOST_JOB_GRACE_S = 15.0
"""A document younger than this may still be between its INSERT and its enqueue: left alone."""
CLAIM_PREFIX = "techdocs:maintenance:"


# ---- the tasks -----------------------------------------------------------------------------------


def _document_id(job: Job) -> int | None:
    if job.func_name != jobs.INGEST_TASK:
        return None
    try:
        return int(job.args[0])
    except (IndexError, TypeError, ValueError):
        return None


def record_lost_attempt(job: Job) -> None:
    """A run of `job` died without recording anything (killed worker or work horse). With no
    retries left its document is failed with a message the owner can act on."""
    from techdocs_app.rag.ingest import CRASHED_FAILURE, mark_failed

    document_id = _document_id(job)
    if document_id is None:
        return
    if job.retries_left:
        log.warning("ingest of document %s was interrupted; it will be retried", document_id)
        return
    log.error("ingest of document %s was interrupted with no retries left", document_id)
    mark_failed(document_id, CRASHED_FAILURE, org_id=jobs.job_org_id(job))


def requeue_interrupted(job: Job, *, consume_retry: bool, reason: str) -> bool:
    """Take a job out of its started registry and put it back at the front of its queue.

    `consume_retry`: the interruption counts as a failed attempt (a crash), so it uses one of the
    job's retries, and with none left the job is failed in RQ's failed-job registry instead.
    Returns True when the job was requeued.
    """
    connection = job.connection
    queue = Queue(job.origin, connection=connection)
    registry = StartedJobRegistry(job.origin, connection=connection)
    if consume_retry:
        record_lost_attempt(job)
    with connection.pipeline() as pipe:
        registry.remove_executions(job, pipeline=pipe)
        pipe.execute()
    if consume_retry and not job.retries_left:
        exc_string = f"AbandonedJobError: {reason}; no retries left"
        job.ended_at = rq_now()
        with connection.pipeline() as pipe:  # as RQ records a failure: status, registry, result
            job.set_status(JobStatus.FAILED, pipeline=pipe)
            queue.failed_job_registry.add(
                job, ttl=job.failure_ttl, exc_string=exc_string, pipeline=pipe
            )
            Result.create_failure(job, job.failure_ttl, exc_string=exc_string, pipeline=pipe)
            pipe.execute()
        return False
    if consume_retry:
        job.retries_left = (job.retries_left or 1) - 1
    queue.enqueue_job(job, at_front=True)
    jobs.wake_workers(connection)
    return True


def recover_abandoned_jobs(connection: Redis | None = None) -> list[str]:
    """Requeue started jobs whose worker no longer exists. Returns the recovered job ids."""
    connection = connection or jobs.get_redis()
    recovered: list[str] = []
    for name in jobs.ingest_queue_names(connection):
        registry = StartedJobRegistry(name, connection=connection)
        for entry in cast(list[bytes], connection.zrange(registry.key, 0, -1)):
            job_id = registry.parse_job_id(entry.decode())
            try:
                job = Job.fetch(job_id, connection=connection)
            except Exception:  # noqa: BLE001 - NoSuchJobError or a corrupt hash: drop the entry
                connection.zrem(registry.key, entry)
                continue
            if job.get_status(refresh=True) != JobStatus.STARTED:
                continue
            if jobs.worker_is_alive(job.worker_name, connection):
                continue
            log.warning("job %s was abandoned by worker %s", job.id, job.worker_name)
            requeue_interrupted(job, consume_retry=True, reason="abandoned: its worker died")
            recovered.append(job.id)
    return recovered


def _job_is_live(job: Job | None) -> bool:
    return job is not None and jobs.job_is_active(job)


def fail_stuck_documents(connection: Redis | None = None) -> list[int]:
    """`processing` documents silent for longer than a job may run, with no live job: failed with
    STUCK_FAILURE (the Library's Retry button queues them again). Returns their ids."""
    connection = connection or jobs.get_redis()
    settings = get_settings()
    silent_for = settings.ingest_job_timeout_s + settings.ingest_stuck_margin_s
    with system_session_scope() as session:
        candidates = ingest_claims.processing_documents_untouched(session, for_s=silent_for)
        claimed = ingest_claims.claimed_document_ids(session) if candidates else set()
    failed: list[int] = []
    for document in candidates:
        assert document.id is not None
        if document.id in claimed or _job_is_live(jobs.fetch_ingest_job(document.id, connection)):
            continue
        with system_session_scope() as session:
            changed = ingest_claims.mark_document(
                session,
                org_id=document.org_id,
                document_id=document.id,
                status="failed",
                error_message=STUCK_FAILURE,
            )
        if changed:
            log.error(
                "document %s (org %s) was stuck in processing; marked failed",
                document.id,
                document.org_id,
            )
            failed.append(document.id)
    return failed


def reconcile_documents(
    connection: Redis | None = None, *, grace_s: float = LOST_JOB_GRACE_S
) -> list[int]:
    """Give every unfinished document a live job. Returns the ids enqueued again."""
    from techdocs_app.rag.ingest import RETRYABLE_FAILURE

    connection = connection or jobs.get_redis()
    with system_session_scope() as session:
        candidates = ingest_claims.unfinished_documents(session, untouched_for_s=grace_s)
        claimed = ingest_claims.claimed_document_ids(session) if candidates else set()
    enqueued: list[int] = []
    for document in candidates:
        assert document.id is not None
        if document.id in claimed:
            continue  # a running job holds it, whatever Redis says
        job = jobs.fetch_ingest_job(document.id, connection)
        if _job_is_live(job):
            continue
        status = job.get_status() if job is not None else None
        if document.status == "processing" and status in (JobStatus.FAILED, JobStatus.STOPPED):
            # The job failed for good but could not record it (the database was down then).
            with system_session_scope() as session:
                ingest_claims.mark_document(
                    session,
                    org_id=document.org_id,
                    document_id=document.id,
                    status="failed",
                    error_message=RETRYABLE_FAILURE,
                )
            continue
        jobs.enqueue_ingest(document.id, org_id=document.org_id, connection=connection)
        enqueued.append(document.id)
    if enqueued:
        log.warning("enqueued documents that had no live job: %s", enqueued)
    return enqueued


# ---- the schedule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every_s: float
    run: Callable[[], object] | str
    """A zero-argument callable, or "package.module:function" (imported when first run)."""
    at_start: bool = False

    def resolve(self) -> Callable[[], object]:
        if callable(self.run):
            return self.run
        module, _, attr = self.run.partition(":")
        return getattr(importlib.import_module(module), attr)


# Order matters at start: recover abandoned jobs first, fail the hopeless, then reconcile the rest.
TASKS: tuple[PeriodicTask, ...] = (
    PeriodicTask("recover-abandoned-jobs", every_s=60, run=recover_abandoned_jobs, at_start=True),
    PeriodicTask("fail-stuck-documents", every_s=60, run=fail_stuck_documents, at_start=True),
    PeriodicTask("reconcile-documents", every_s=60, run=reconcile_documents, at_start=True),
    # Query logs hold the questions asked: deleted after QUERY_LOG_RETENTION_DAYS (retention.py).
    PeriodicTask(
        "purge-query-logs", every_s=24 * 3600, run="techdocs_app.retention:purge_query_logs"
    ),
    PeriodicTask(
        "purge-sessions", every_s=3600, run="techdocs_app.auth.sessions:purge_expired_sessions"
    ),
    # Clerk mode: Team-page changes Clerk did not answer to (db.clerk_mirrors), pushed again.
    PeriodicTask("push-clerk-mirrors", every_s=30, run="techdocs_app.auth.clerk:push_due_mirrors"),
    # Clerk mode: memberships made to agree with Clerk's list, should a webhook be lost for good.
    PeriodicTask(
        "reconcile-clerk-memberships",
        every_s=15 * 60,
        run="techdocs_app.auth.clerk_sync:reconcile_memberships",
    ),
)


def _run(task: PeriodicTask) -> bool:
    started = time.monotonic()
    try:
        result = task.resolve()()
    except Exception:  # noqa: BLE001 - a failing task must never stop a worker
        log.exception("maintenance task %s failed; it runs again next period", task.name)
        return False
    log.debug(
        "maintenance task %s done in %.2f s: %r", task.name, time.monotonic() - started, result
    )
    return True


def _claim(connection: Redis, task: PeriodicTask) -> bool:
    return bool(connection.set(CLAIM_PREFIX + task.name, 1, nx=True, ex=max(1, int(task.every_s))))


def run_at_start(connection: Redis, tasks: Sequence[PeriodicTask] | None = None) -> list[str]:
    """A starting worker runs every `at_start` task now (and starts their period). Returns the
    names of the tasks run."""
    ran: list[str] = []
    for task in TASKS if tasks is None else tasks:
        if not task.at_start:
            continue
        try:
            connection.set(CLAIM_PREFIX + task.name, 1, ex=max(1, int(task.every_s)))
        except Exception:  # noqa: BLE001 - Redis down: run anyway, the schedule is best effort
            log.warning("could not record the start of maintenance task %s", task.name)
        _run(task)
        ran.append(task.name)
    return ran


def run_due(connection: Redis, tasks: Sequence[PeriodicTask] | None = None) -> list[str]:
    """Run each task whose period has passed and that no other worker has claimed. Returns the
    names of the tasks run."""
    ran: list[str] = []
    for task in TASKS if tasks is None else tasks:
        try:
            if not _claim(connection, task):
                continue
        except Exception:  # noqa: BLE001 - Redis down: try again at the next check
            log.warning("could not claim maintenance task %s", task.name)
            return ran
        _run(task)
        ran.append(task.name)
    return ran
