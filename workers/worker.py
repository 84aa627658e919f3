"""`python -m workers.worker`: one RQ ingestion worker (settings.effective_redis_url).

It serves every organization's ingest queue fairly (`workers.fair`), discovering new organizations'
queues as they appear, forks a work horse per job (a PDF that crashes MuPDF or exhausts memory kills
only the horse: RQ records it and the job is retried) and runs RQ's scheduler for retries
(`workers.scheduler`).

Maintenance (`techdocs_app.maintenance`): at start, and then whenever a task's period is due (checked
every few seconds, idle or busy), the worker recovers abandoned jobs, fails documents stuck in
`processing`, and reconciles Postgres with the queue.

Stopping: SIGTERM/SIGINT stops after the current job (warm); a second one stops at once (cold): the
job in progress is put back at the front of its queue without using one of its retries.
`make run` runs this under `workers.supervisor`, which restarts it when it exits.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any, cast

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, SimpleWorker, Worker, worker_registration
from rq.exceptions import NoSuchJobError, StopRequested
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler
from rq.worker import BaseWorker, WorkerStatus

from techdocs_app import jobs, maintenance
from techdocs_app.observability.logs import configure_logging
from techdocs_app.settings import get_settings
from workers import fair
from workers.scheduler import IngestScheduler
from workers.tasks import on_work_horse_killed

log = logging.getLogger("workers.worker")

IDLE_WAIT_S = 5
"""An idle worker wakes at least this often: heartbeat, maintenance, queues of new organizations."""
MAINTENANCE_CHECK_S = 5.0
HEARTBEAT_INTERVAL_S = 10
"""While a job runs the worker's parent heartbeats (and checks maintenance) this often."""


class FairIngestMixin:
    """The parts of our worker shared by the forking and the simple (in-process) RQ worker."""

    connection: Redis
    queues: list[Queue]
    name: str
    log: logging.Logger
    scheduler: RQScheduler | None
    _stop_requested: bool
    _waiting_for_work = False
    """True only inside the idle BLPOP (see `_shutdown`)."""
    _started_maintenance = False
    _maintenance_checked_at = 0.0

    # ---- maintenance ------------------------------------------------------------------------------

    def run_periodic(self) -> None:
        if not self._started_maintenance:
            self._started_maintenance = True
            self._maintenance_checked_at = time.monotonic()
            maintenance.run_at_start(self.connection)
            return
        if time.monotonic() - self._maintenance_checked_at < MAINTENANCE_CHECK_S:
            return
        self._maintenance_checked_at = time.monotonic()
        self.ensure_registered()
        maintenance.run_due(self.connection)

    def ensure_registered(self) -> None:
        """Redis lost our registration (flushed, or restarted without persistence): register again,
        so that the Library and `/api/health/worker` still see this worker."""
        if self.connection.sismember(worker_registration.REDIS_WORKER_KEYS, self.key):  # type: ignore[attr-defined]
            return
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, mapping=self.serialize())  # type: ignore[attr-defined]
            worker_registration.register(self, pipe)  # type: ignore[arg-type]
            pipe.expire(self.key, self.worker_ttl + 60)  # type: ignore[attr-defined]
            pipe.execute()
        self.log.warning("Worker %s: registered again (Redis had lost it)", self.name)

    def maintain_heartbeats(self, job: Job) -> None:
        super().maintain_heartbeats(job)  # type: ignore[misc]
        self.run_periodic()

    # ---- queues -----------------------------------------------------------------------------------

    def refresh_queues(self) -> None:
        names = jobs.ingest_queue_names(self.connection)
        if names != [q.name for q in self.queues]:
            self.queues = [Queue(name, connection=self.connection) for name in names]

    def _shutdown(self) -> None:
        """A warm shutdown was asked (SIGTERM, SIGINT). Busy: RQ's way, the job finishes first.
        Idle, RQ raises `StopRequested` from the signal handler, inside whatever the worker is
        running at that instant: a maintenance task, a Redis or Clerk call, an import. An
        `except Exception` there (a maintenance task must never stop a worker) swallowed it, and
        the worker never stopped. Idle, the request is now a flag, which the idle loop turns
        into `StopRequested` at a safe point; only while the worker waits for work (its own
        BLPOP, where nothing can swallow it) is it raised at once, so that Ctrl-C is instant."""
        if self.get_state() == WorkerStatus.BUSY:  # type: ignore[attr-defined]
            super()._shutdown()  # type: ignore[misc]
            return
        self._stop_requested = True
        if self.scheduler:
            self.stop_scheduler()  # type: ignore[attr-defined]
        if self._waiting_for_work:
            raise StopRequested()

    def _stop_if_asked(self) -> None:
        if self._stop_requested:
            raise StopRequested()

    def run_maintenance_tasks(self) -> None:
        if self._stop_requested:  # type: ignore[attr-defined]
            return  # RQ would start its scheduler again on the way out of a warm shutdown
        super().run_maintenance_tasks()  # type: ignore[misc]

    def clean_registries(self) -> None:
        self.refresh_queues()
        super().clean_registries()  # type: ignore[misc]

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """Take the next job by the fair order; block (briefly, repeatedly) when there is none.

        `timeout=None` (burst mode): return None as soon as every queue is empty.
        """
        self.set_state(WorkerStatus.IDLE)  # type: ignore[attr-defined]
        idle_since = time.monotonic()
        connection_wait = 1.0
        while True:
            self._stop_if_asked()
            try:
                self.heartbeat()  # type: ignore[attr-defined]
                if self.should_run_maintenance_tasks:  # type: ignore[attr-defined]
                    self.run_maintenance_tasks()  # type: ignore[attr-defined]
                self.run_periodic()
                self._stop_if_asked()
                self.refresh_queues()
                order = fair.fair_order(fair.queue_loads(self.connection, self.queue_names()))  # type: ignore[attr-defined]
                if order:
                    result = Queue.dequeue_any(
                        [Queue(name, connection=self.connection) for name in order],
                        None,
                        connection=self.connection,
                    )
                    if result is None:
                        continue  # another worker took it first
                    return self._took(*result)
                if timeout is None:
                    return None
                if max_idle_time is not None and time.monotonic() - idle_since >= max_idle_time:
                    return None
                self._waiting_for_work = True
                try:
                    popped = cast(
                        "list[bytes] | None",
                        self.connection.blpop(
                            [jobs.WAKE_KEY, *(q.key for q in self.queues)],
                            min(timeout, IDLE_WAIT_S),
                        ),
                    )
                finally:
                    self._waiting_for_work = False
                if popped is None:
                    continue
                key, job_id = (v.decode() if isinstance(v, bytes) else v for v in popped)
                if key == jobs.WAKE_KEY:
                    continue
                queue = Queue.from_queue_key(key, connection=self.connection)
                try:
                    job = Job.fetch(job_id, connection=self.connection)
                except NoSuchJobError:
                    continue
                return self._took(job, queue)
            except RedisConnectionError as exc:
                self.log.error(
                    "Worker %s: cannot reach Redis (%s); retrying in %.0f s",
                    self.name,
                    exc,
                    connection_wait,
                )
                time.sleep(connection_wait)
                connection_wait = min(connection_wait * 2, 60.0)

    def _took(self, job: Job, queue: Queue) -> tuple[Job, Queue]:
        fair.note_served(self.connection, queue.name)
        job.redis_server_version = self.get_redis_server_version()  # type: ignore[attr-defined]
        self.log.info("Worker %s: %s: %s (%s)", self.name, queue.name, job.description, job.id)
        self.heartbeat()  # type: ignore[attr-defined]
        return job, queue

    # ---- scheduler --------------------------------------------------------------------------------

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = "%H:%M:%S",
        log_format: str = "%(asctime)s %(message)s",
    ) -> None:
        self.scheduler = IngestScheduler(
            [jobs.LEGACY_QUEUE],
            connection=self.connection,
            logging_level=logging_level or "INFO",
            date_format=date_format,
            log_format=log_format,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    # ---- cold shutdown ------------------------------------------------------------------------------

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        """Cold shutdown: stop the job in progress and put it back at the front of its queue,
        without counting it as a failed attempt (it did not fail: we stopped it)."""
        job_id = self.get_current_job_id()  # type: ignore[attr-defined]
        try:
            super().request_force_stop(signum, frame)  # type: ignore[misc]
        except SystemExit:
            if job_id:
                self._requeue_stopped(job_id)
            raise

    def _requeue_stopped(self, job_id: str) -> None:
        try:
            job = Job.fetch(job_id, connection=self.connection)
            if job.get_status(refresh=True) != JobStatus.STARTED:
                return
            maintenance.requeue_interrupted(job, consume_retry=False, reason="worker stopped")
            self.log.warning("Worker %s: job %s put back on its queue", self.name, job_id)
        except Exception:  # noqa: BLE001 - the reconciliation recovers it anyway
            self.log.exception("Worker %s: could not requeue job %s", self.name, job_id)


class IngestWorker(FairIngestMixin, Worker):
    """RQ's forking worker with fair queues and our maintenance."""


class SimpleIngestWorker(FairIngestMixin, SimpleWorker):
    """Same, without forking (debugging; tests)."""


def build_worker(connection: Redis, *, simple: bool = False, name: str | None = None) -> BaseWorker:
    kwargs: dict[str, Any] = {} if simple else {"work_horse_killed_handler": on_work_horse_killed}
    cls = SimpleIngestWorker if simple else IngestWorker
    return cls(
        [Queue(jobs.LEGACY_QUEUE, connection=connection)],
        connection=connection,
        name=name,
        maintenance_interval=60,
        job_monitoring_interval=HEARTBEAT_INTERVAL_S,
        **kwargs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workers.worker", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--simple", action="store_true", help="run jobs in this process (no fork)")
    parser.add_argument("--name", default=None, help="worker name (default: RQ's random name)")
    args = parser.parse_args(argv)

    configure_logging()
    settings = get_settings()
    connection = Redis.from_url(settings.effective_redis_url)
    worker = build_worker(connection, simple=args.simple, name=args.name)
    log.info("ingest worker %s on every organization's ingest queue", worker.name)
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    sys.exit(main())
