"""RQ's scheduler (it moves retries whose wait is over back onto their queue), for queues that appear
as organizations do.

RQ's own scheduler serves the queues its worker was started with. Ours holds one fleet-wide lock
(the legacy queue's name, `jobs.LEGACY_QUEUE`, so at most one runs at a time, taken over by another
worker's when its worker dies) and looks at every ingest queue at each pass.
"""

from __future__ import annotations

from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from techdocs_app import jobs


class IngestScheduler(RQScheduler):
    def prepare_registries(self, queue_names: object = None) -> None:
        self._scheduled_job_registries = []
        if not self._acquired_locks:
            return
        names = jobs.ingest_queue_names(self.connection)
        with self.connection.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zcard(ScheduledJobRegistry.key_template.format(name))
            counts = pipe.execute()
        self._scheduled_job_registries = [
            ScheduledJobRegistry(name, connection=self.connection, serializer=self.serializer)
            for name, count in zip(names, counts, strict=True)
            if count
        ]

    def enqueue_scheduled_jobs(self) -> None:
        # List the queues again at every pass: a new organization's retry must not wait.
        self.prepare_registries()
        if not self._scheduled_job_registries:
            return
        super().enqueue_scheduled_jobs()
        jobs.wake_workers(self.connection)
