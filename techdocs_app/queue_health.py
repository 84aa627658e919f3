"""What the ingestion queue is doing, read from RQ's own registries (never a copy of them).

- `fleet_health()`: every organization's queues and the live workers, for `/api/health/worker`
  (a platform health check or a monitor).
- `library_queue_status(principal)`: the same, scoped to the principal's organization, for the
  Library: whether processing is paused (no live worker) and, for owners and admins, how many
  manuals wait and for how long the oldest has.
- `failed_jobs(principal)`: the organization's entries in RQ's failed-job registry, each with a
  plain reason, for the Library's Retry (owners and admins).

A worker is live when its heartbeat in RQ's worker registry is younger than `HEARTBEAT_STALE_S`:
ours beat every 5 s when idle and every 10 s while a job runs.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.utils import utcparse
from rq.worker import BaseWorker

from techdocs_app import jobs
from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, allowed, require

log = logging.getLogger(__name__)

HEARTBEAT_STALE_S = 60.0


@dataclass(frozen=True)
class QueueHealth:
    workers: int
    """Live ingestion workers (heartbeat within HEARTBEAT_STALE_S)."""
    busy_workers: int
    queued: int
    """Jobs waiting in the queue(s) (not counting retries scheduled for later)."""
    oldest_queued_age_s: float | None
    running: int
    scheduled: int
    """Jobs waiting for a retry."""
    failed: int
    """Jobs in RQ's failed-job registry."""

    @property
    def paused(self) -> bool:
        """No worker is alive: nothing will be processed until one starts."""
        return self.workers == 0

    def as_dict(self) -> dict[str, object]:
        if self.paused:
            status = "no_workers"
        else:
            status = "ok"
        return {
            "status": status,
            "workers": self.workers,
            "busy_workers": self.busy_workers,
            "queued": self.queued,
            "oldest_queued_age_s": (
                round(self.oldest_queued_age_s, 1) if self.oldest_queued_age_s is not None else None
            ),
            "running": self.running,
            "scheduled": self.scheduled,
            "failed": self.failed,
        }


def live_workers(connection: Redis, *, now: datetime | None = None) -> list[BaseWorker]:
    """RQ workers serving the ingest queues whose last heartbeat is recent."""
    now = now or datetime.now(UTC)
    live = []
    for worker in Worker.all(connection=connection):
        if not any(jobs.is_ingest_queue(name) for name in worker.queue_names()):
            continue
        beat = worker.last_heartbeat
        if beat is None:
            continue
        if beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        if (now - beat).total_seconds() <= HEARTBEAT_STALE_S:
            live.append(worker)
    return live


def _queue_health(connection: Redis, names: list[str]) -> QueueHealth:
    now = datetime.now(UTC)
    workers = live_workers(connection, now=now)
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(Queue.redis_queue_namespace_prefix + name)
            pipe.lindex(Queue.redis_queue_namespace_prefix + name, 0)
            pipe.zcount(StartedJobRegistry.key_template.format(name), now.timestamp(), "+inf")
            pipe.zcard(ScheduledJobRegistry.key_template.format(name))
            pipe.zcard(FailedJobRegistry.key_template.format(name))
        counts = pipe.execute()
    queued = running = scheduled = failed = 0
    heads: list[str] = []
    for i in range(len(names)):
        length, head, started, waiting_retry, failures = counts[5 * i : 5 * i + 5]
        queued += int(length)
        running += int(started)
        scheduled += int(waiting_retry)
        failed += int(failures)
        if head is not None:
            heads.append(head.decode() if isinstance(head, bytes) else str(head))
    oldest: float | None = None
    if heads:
        with connection.pipeline(transaction=False) as pipe:
            for job_id in heads:
                pipe.hget(Job.redis_job_namespace_prefix + job_id, "enqueued_at")
            stamps = pipe.execute()
        ages = [
            (now - utcparse(stamp.decode() if isinstance(stamp, bytes) else stamp)).total_seconds()
            for stamp in stamps
            if stamp
        ]
        oldest = max(0.0, max(ages)) if ages else None
    return QueueHealth(
        workers=len(workers),
        busy_workers=sum(1 for w in workers if w.get_current_job_id()),
        queued=queued,
        oldest_queued_age_s=oldest,
        running=running,
        scheduled=scheduled,
        failed=failed,
    )


def fleet_health(connection: Redis | None = None) -> QueueHealth:
    """Every organization's ingest queues (for operators; no tenant data)."""
    connection = connection or jobs.get_redis()
    return _queue_health(connection, jobs.ingest_queue_names(connection))


def org_health(org_id: int, connection: Redis | None = None) -> QueueHealth:
    """The organization's own queue; the workers are shared by all."""
    connection = connection or jobs.get_redis()
    return _queue_health(connection, [jobs.org_queue_name(org_id)])


# ---- the Library's view --------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryQueueStatus:
    paused: bool
    """No live worker: queued manuals wait ("Waiting for a worker: processing is paused")."""
    details_visible: bool
    """Owners and admins see the counts below; members see only `paused`."""
    waiting: int = 0
    oldest_wait_s: float | None = None
    workers: int = 0


def library_queue_status(principal: Principal) -> LibraryQueueStatus:
    """Redis unreachable: not paused (as far as we know) and no details; the page still works."""
    require(principal, Action.READ_LIBRARY)
    try:
        health = org_health(principal.org_id)
    except RedisError:
        log.warning("queue status unavailable: Redis unreachable")
        return LibraryQueueStatus(paused=False, details_visible=False)
    if not allowed(principal.role, Action.MANAGE_DOCUMENTS):
        return LibraryQueueStatus(paused=health.paused, details_visible=False)
    return LibraryQueueStatus(
        paused=health.paused,
        details_visible=True,
        waiting=health.queued,
        oldest_wait_s=health.oldest_queued_age_s,
        workers=health.workers,
    )


def wait_label(seconds: float | None) -> str:
    """How long something has waited, in words: "under a minute", "4 min", "2 h 5 min"."""
    if seconds is None or seconds < 60:
        return "under a minute"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


# ---- failed jobs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedJob:
    document_id: int
    job_id: str
    reason: str
    failed_at: datetime | None


_SIGNAL = re.compile(r"signal (\d+)")
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt))\b", re.M)


def failure_reason(exc_string: str | None) -> str:
    """A plain account of why an RQ job failed, from its traceback text, for the shop's admins.

    Only the kind of failure and the exception's class name are shown, never the exception's text
    (it can hold paths, SQL or someone else's data).
    """
    text = exc_string or ""
    if "Work-horse terminated unexpectedly" in text or "work-horse" in text.lower():
        match = _SIGNAL.search(text)
        sig = f" (signal {match.group(1)})" if match else ""
        return f"The process working on it was killed{sig}, for example for lack of memory."
    if "JobTimeoutException" in text:
        return "It took longer than the processing time limit."
    if "abandoned" in text.lower() or "AbandonedJobError" in text:
        return "The worker processing it stopped in the middle (restart or crash)."
    names = _EXCEPTION.findall(text)
    if names:
        return f"An unexpected error stopped it ({names[-1].rsplit('.', 1)[-1]})."
    return "It stopped with an unexpected error."


def _exc_string(job: Job) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return job.exc_info


def failed_jobs(principal: Principal, *, limit: int = 100) -> list[FailedJob]:
    """The organization's failed ingestion jobs (newest first), from RQ's failed-job registry."""
    require(principal, Action.MANAGE_DOCUMENTS)
    connection = jobs.get_redis()
    registry = FailedJobRegistry(jobs.org_queue_name(principal.org_id), connection=connection)
    out: list[FailedJob] = []
    for job_id in registry.get_job_ids(0, limit - 1, desc=True):
        try:
            job = Job.fetch(job_id, connection=connection)
        except Exception:  # noqa: BLE001 - expired or corrupt: not shown
            continue
        if job.func_name != jobs.INGEST_TASK or jobs.job_org_id(job) != principal.org_id:
            continue
        out.append(
            FailedJob(
                document_id=int(job.args[0]),
                job_id=job.id,
                reason=failure_reason(_exc_string(job)),
                failed_at=job.ended_at,
            )
        )
    return out
