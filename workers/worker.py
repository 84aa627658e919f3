"""`python -m workers.worker`: one RQ worker on the "ingest" queue (settings.effective_redis_url).

It forks a work horse per job (a PDF that crashes MuPDF or exhausts memory kills only the horse:
RQ records it and the job is retried) and runs RQ's scheduler (retries wait a few seconds).

Recovery, at start and then every `RECOVERY_INTERVAL_S` (as RQ maintenance):
1. abandoned jobs: a job in the started registry whose worker is gone (SIGKILL, power loss) is put
   back at the front of the queue at once (or failed when out of retries) instead of waiting for
   RQ's heartbeat timeout. Same-host workers are judged by pid, others by their Redis key.
2. lost jobs: a `pending`/`processing` document with no job at all (Redis was flushed, or the upload
   could not reach Redis) is enqueued; one whose job failed without recording it is failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from redis import Redis
from rq import Queue, SimpleWorker, Worker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from techdocs_app import jobs
from techdocs_app.db import documents as docs_db
from techdocs_app.db.engine import system_session_scope
from techdocs_app.settings import get_settings
from workers.tasks import on_work_horse_killed, record_lost_attempt

log = logging.getLogger("workers.worker")

RECOVERY_INTERVAL_S = 60
LOST_JOB_GRACE_S = 15.0
"""A pending document younger than this may still be between its INSERT and its enqueue."""


def recover_abandoned_jobs(queue: Queue) -> list[str]:
    """Requeue started jobs whose worker no longer exists. Returns the recovered job ids."""
    registry = StartedJobRegistry(queue.name, connection=queue.connection)
    recovered: list[str] = []
    for entry in queue.connection.zrange(registry.key, 0, -1):
        job_id = registry.parse_job_id(entry)
        try:
            job = Job.fetch(job_id, connection=queue.connection)
        except Exception:  # noqa: BLE001 - NoSuchJobError or a corrupt hash: drop the entry
            queue.connection.zrem(registry.key, entry)
            continue
        if job.get_status(refresh=True) != JobStatus.STARTED:
            continue
        if jobs.worker_is_alive(job.worker_name, queue.connection):
            continue
        log.warning("job %s was abandoned by worker %s", job.id, job.worker_name)
        record_lost_attempt(job)
        with queue.connection.pipeline() as pipe:
            registry.remove_executions(job, pipeline=pipe)
            pipe.zrem(registry.key, entry)
            pipe.execute()
        if job.retries_left:
            job.retries_left -= 1
            queue.enqueue_job(job, at_front=True)
        else:
            job.set_status(JobStatus.FAILED)
            queue.failed_job_registry.add(job, exc_string="abandoned: its worker died")
        recovered.append(job.id)
    return recovered


def recover_lost_documents(connection: Redis, *, grace_s: float = LOST_JOB_GRACE_S) -> list[int]:
    """Enqueue unfinished documents that have no job. Returns their ids."""
    from techdocs_app.rag.ingest import RETRYABLE_FAILURE, mark_failed

    with system_session_scope() as session:
        candidates = [
            d.id
            for d in docs_db.stale_unfinished_documents(session, older_than_s=grace_s)
            if d.id is not None
        ]
    enqueued: list[int] = []
    for document_id in candidates:
        job = jobs.fetch_ingest_job(document_id, connection)
        if job is None or job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.CANCELED):
            jobs.enqueue_ingest(document_id, connection=connection)
            enqueued.append(document_id)
        elif job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED):
            mark_failed(document_id, RETRYABLE_FAILURE)
    if enqueued:
        log.warning("enqueued documents without a job: %s", enqueued)
    return enqueued


def recover(connection: Redis) -> None:
    try:
        recover_abandoned_jobs(jobs.get_queue(connection))
        recover_lost_documents(connection)
    except Exception:  # noqa: BLE001 - recovery must never stop the worker from working
        log.exception("recovery sweep failed; will try again at the next maintenance")


def purge_sessions() -> None:
    """Delete expired, idle and revoked sign-in sessions (auth.sessions)."""
    from techdocs_app.auth.sessions import purge_expired_sessions

    try:
        purged = purge_expired_sessions()
    except Exception:  # noqa: BLE001 - maintenance must never stop the worker from working
        log.exception("session purge failed; will try again at the next maintenance")
        return
    if purged:
        log.info("purged %s expired sessions", purged)


class IngestWorker(Worker):
    """RQ's forking worker plus our recovery sweep in its maintenance."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        recover(self.connection)
        purge_sessions()


class SimpleIngestWorker(SimpleWorker):
    """Same, without forking (debugging; tests)."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        recover(self.connection)
        purge_sessions()


def build_worker(connection: Redis, *, simple: bool = False, name: str | None = None) -> Worker:
    cls = SimpleIngestWorker if simple else IngestWorker
    kwargs = {} if simple else {"work_horse_killed_handler": on_work_horse_killed}
    return cls(
        [jobs.INGEST_QUEUE],
        connection=connection,
        name=name,
        maintenance_interval=RECOVERY_INTERVAL_S,
        job_monitoring_interval=10,
        **kwargs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.worker", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.add_argument("--simple", action="store_true", help="run jobs in this process (no fork)")
    parser.add_argument("--name", default=None, help="worker name (default: RQ's random name)")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = get_settings()
    connection = Redis.from_url(settings.effective_redis_url)
    worker = build_worker(connection, simple=args.simple, name=args.name)
    log.info("ingest worker %s on queue %s", worker.name, jobs.INGEST_QUEUE)
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
