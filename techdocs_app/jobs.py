"""The ingestion queue (RQ on Redis): enqueue, requeue, cancel, and tell live jobs from lost ones.

One RQ queue per organization (`ingest-org-<org_id>`), drained fairly by the workers
(`workers.fair`): a shop that queues fifty manuals cannot hold the others behind them.

Every ingest job is `workers.tasks.ingest_document(document_id, org_id)` with the deterministic id
`ingest-<document_id>`, so enqueueing a document twice never runs two copies side by side: a job that
is still waiting or running is left alone; a finished, failed or abandoned one is replaced. The
check-and-enqueue holds a short per-document Redis lock, so the upload, the Retry button and the
workers' reconciliation can race without ever creating two jobs for one document.
Retries (`Retry(max=settings.ingest_retries, interval=...)`) and `job_timeout` are set here, once.

Redis is a queue that can be lost: Postgres is the source of truth (see `techdocs_app.maintenance`).
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

LEGACY_QUEUE = "ingest"
"""The single queue of earlier versions: workers still drain it, nothing new is put on it. Its name
also serves as the fleet-wide scheduler lock (`workers.scheduler`)."""
ORG_QUEUE_PREFIX = "ingest-org-"
INGEST_TASK = "workers.tasks.ingest_document"
WAKE_KEY = "techdocs:ingest:wake"
"""A list the idle workers block on (besides the queues they know): a job for an organization whose
queue a worker has not seen yet wakes it at once."""
WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
ENQUEUE_LOCK_S = 10


def ingest_job_id(document_id: int) -> str:
    return f"ingest-{int(document_id)}"


def org_queue_name(org_id: int) -> str:
    return f"{ORG_QUEUE_PREFIX}{int(org_id)}"


def is_ingest_queue(name: str) -> bool:
    return name == LEGACY_QUEUE or name.startswith(ORG_QUEUE_PREFIX)


@lru_cache(maxsize=4)
def _redis(url: str) -> Redis:
    return Redis.from_url(url)


def get_redis() -> Redis:
    return _redis(get_settings().effective_redis_url)


def get_queue(connection: Redis | None = None, *, org_id: int | None = None) -> Queue:
    """The organization's ingest queue (`org_id=None`: the legacy shared queue)."""
    name = LEGACY_QUEUE if org_id is None else org_queue_name(org_id)
    return Queue(name, connection=connection or get_redis())


def ingest_queue_names(connection: Redis | None = None) -> list[str]:
    """Every ingest queue RQ knows of (RQ registers a queue at its first enqueue), sorted."""
    connection = connection or get_redis()
    prefix = Queue.redis_queue_namespace_prefix
    names = {LEGACY_QUEUE}
    for key in connection.smembers(Queue.redis_queues_keys):  # type: ignore[union-attr]
        name = (key.decode() if isinstance(key, bytes) else str(key)).removeprefix(prefix)
        if is_ingest_queue(name):
            names.add(name)
    return sorted(names)


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


def job_org_id(job: Job) -> int | None:
    """The organization an ingest job works for (its second argument; None for legacy jobs)."""
    try:
        return int(job.args[1])
    except (IndexError, TypeError, ValueError):
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
    """Live: waiting to run (queued, scheduled for a retry), or running on a live worker."""
    status = job.get_status(refresh=True)
    if status in WAITING:
        return True
    if status == JobStatus.STARTED:
        return worker_is_alive(job.worker_name, job.connection)
    return False


def wake_workers(connection: Redis) -> None:
    """Wake one idle worker (bounded list: a burst of uploads leaves at most 64 tokens)."""
    with connection.pipeline() as pipe:
        pipe.lpush(WAKE_KEY, 1)
        pipe.ltrim(WAKE_KEY, 0, 63)
        pipe.execute()


def enqueue_ingest(document_id: int, *, org_id: int, connection: Redis | None = None) -> Job:
    """Queue `ingest_document(document_id, org_id)` on the organization's queue, unless a live job
    for the document exists (then return that one)."""
    connection = connection or get_redis()
    with connection.lock(f"techdocs:ingest:enqueue:{int(document_id)}", timeout=ENQUEUE_LOCK_S):
        existing = fetch_ingest_job(document_id, connection)
        if existing is not None:
            if job_is_active(existing):
                return existing
            existing.delete(remove_from_queue=True)
        settings = get_settings()
        job = get_queue(connection, org_id=org_id).enqueue(
            INGEST_TASK,
            int(document_id),
            int(org_id),
            job_id=ingest_job_id(document_id),
            retry=retry_policy(),
            job_timeout=settings.ingest_job_timeout_s,
            result_ttl=int(timedelta(days=1).total_seconds()),
            failure_ttl=int(timedelta(days=7).total_seconds()),
            description=f"ingest document {int(document_id)}",
            on_failure=Callback("workers.tasks.on_ingest_failure"),
        )
    wake_workers(connection)
    log.info("enqueued %s on %s", job.id, job.origin)
    return job


def requeue_failed(document_id: int, *, org_id: int, connection: Redis | None = None) -> Job | None:
    """Put the document's job from RQ's failed-job registry back on its queue, with its retries
    restored. None when the job is not in the organization's failed registry."""
    connection = connection or get_redis()
    registry = get_queue(connection, org_id=org_id).failed_job_registry
    with connection.lock(f"techdocs:ingest:enqueue:{int(document_id)}", timeout=ENQUEUE_LOCK_S):
        job = fetch_ingest_job(document_id, connection)
        if job is None or job.id not in registry.get_job_ids(cleanup=False):
            return None
        job.retries_left = get_settings().ingest_retries or None
        requeued = registry.requeue(job)
    wake_workers(connection)
    log.info("requeued failed job %s", requeued.id)
    return requeued


def cancel_ingest(document_id: int, *, connection: Redis | None = None) -> None:
    """Drop a waiting job (a running one finds its document gone and stops by itself)."""
    connection = connection or get_redis()
    job = fetch_ingest_job(document_id, connection)
    if job is None:
        return
    if job.get_status(refresh=True) in WAITING:
        job.cancel()
        job.delete(remove_from_queue=True)
