"""The ingestion queue (RQ on Redis): enqueue, cancel, and tell live jobs from abandoned ones.

Every ingest job is `workers.tasks.ingest_document(document_id)` with the deterministic id
`ingest-<document_id>`, so enqueueing a document twice never runs two copies side by side: a job that
is still waiting or running is left alone; a finished, failed or abandoned one is replaced.
Retries (`Retry(max=settings.ingest_retries, interval=...)`) and `job_timeout` are set here, once.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from functools import lru_cache

from redis import Redis
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.worker import Worker

from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

INGEST_QUEUE = "ingest"
INGEST_TASK = "workers.tasks.ingest_document"
"""Waits before the 1st, 2nd, 3rd… retry (a database or file store blip usually passes)."""
WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def ingest_job_id(document_id: int) -> str:
    return f"ingest-{int(document_id)}"


@lru_cache(maxsize=4)
def _redis(url: str) -> Redis:
    return Redis.from_url(url)


def get_redis() -> Redis:
    return _redis(get_settings().effective_redis_url)


def get_queue(connection: Redis | None = None) -> Queue:
    return Queue(INGEST_QUEUE, connection=connection or get_redis())


def reset_jobs() -> None:
    """Forget cached Redis connections (tests change REDIS_URL; forked children reconnect)."""
    _redis.cache_clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=reset_jobs)


def retry_policy() -> Retry | None:
    retries = get_settings().ingest_retries
    if retries <= 0:
        return None
    intervals = list(get_settings().ingest_retry_intervals_s)
    return Retry(max=retries, interval=intervals or 0)


def fetch_ingest_job(document_id: int, connection: Redis | None = None) -> Job | None:
    try:
        return Job.fetch(ingest_job_id(document_id), connection=connection or get_redis())
    except NoSuchJobError:
        return None


def worker_is_alive(worker_name: str | None, connection: Redis) -> bool:
    """Whether the RQ worker that took a job still exists.

    A worker's Redis key outlives a SIGKILLed worker by its TTL, so on the same host the worker's
    pid is checked too: a dead pid means the job was abandoned, and it can be recovered at once
    instead of after RQ's heartbeat timeout.
    """
    if not worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + worker_name, connection)
    if worker is None:
        return False
    if worker.hostname == socket.gethostname() and worker.pid:
        try:
            os.kill(int(worker.pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    return True


def job_is_active(job: Job) -> bool:
    """Waiting to run, or running on a live worker."""
    status = job.get_status(refresh=True)
    if status in WAITING:
        return True
    if status == JobStatus.STARTED:
        return worker_is_alive(job.worker_name, job.connection)
    return False


def enqueue_ingest(document_id: int, *, connection: Redis | None = None) -> Job:
    """Queue `ingest_document(document_id)` unless an active job for it exists (then return that)."""
    connection = connection or get_redis()
    existing = fetch_ingest_job(document_id, connection)
    if existing is not None:
        if job_is_active(existing):
            return existing
        existing.delete(remove_from_queue=True)
    settings = get_settings()
    job = get_queue(connection).enqueue(
        INGEST_TASK,
        document_id,
        job_id=ingest_job_id(document_id),
        retry=retry_policy(),
        job_timeout=settings.ingest_job_timeout_s,
        result_ttl=int(timedelta(days=1).total_seconds()),
        failure_ttl=int(timedelta(days=7).total_seconds()),
        description=f"ingest document {document_id}",
        on_failure=Callback("workers.tasks.on_ingest_failure"),
    )
    log.info("enqueued %s", job.id)
    return job


def cancel_ingest(document_id: int, *, connection: Redis | None = None) -> None:
    """Drop a waiting job (a running one finds its document gone and stops by itself)."""
    connection = connection or get_redis()
    job = fetch_ingest_job(document_id, connection)
    if job is None:
        return
    if job.get_status(refresh=True) in WAITING:
        job.cancel()
        job.delete(remove_from_queue=True)
