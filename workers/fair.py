"""Fair scheduling across organizations: which ingest queue a free worker serves next.

Each organization has its own RQ queue (`ingest-org-<id>`). A free worker takes the head job of the
queue that, among those with jobs waiting:

1. has the fewest jobs running right now (so with two workers, a shop whose large manual holds one
   worker cannot take the second one while another shop waits), then
2. was served least recently, across the whole fleet (round-robin: shop B's one manual goes next,
   not after shop A's fifty).

Within one organization jobs stay first-in, first-out. A running job is never interrupted: with one
worker, another shop waits at most for the job in progress.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis import Redis
from rq import Queue
from rq.registry import StartedJobRegistry

SERVED_KEY = "techdocs:ingest:served"
"""Hash: queue name -> fleet-wide sequence number of the last job taken from it."""
SERVED_SEQ_KEY = "techdocs:ingest:served-seq"


@dataclass(frozen=True)
class QueueLoad:
    name: str
    waiting: int
    running: int
    last_served: int
    """Sequence number of the last job taken from this queue; 0 when never served."""


def fair_order(loads: Iterable[QueueLoad]) -> list[str]:
    """Names of the queues with jobs waiting, in the order a free worker should try them."""
    candidates = [load for load in loads if load.waiting > 0]
    candidates.sort(key=lambda load: (load.running, load.last_served, load.name))
    return [load.name for load in candidates]


def queue_loads(connection: Redis, names: Sequence[str]) -> list[QueueLoad]:
    """Waiting and running counts and last service of each queue, in one round trip."""
    if not names:
        return []
    now = time.time()
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(Queue.redis_queue_namespace_prefix + name)
            # Started-registry entries score their heartbeat's expiry; expired ones are dead runs.
            pipe.zcount(StartedJobRegistry.key_template.format(name), now, "+inf")
        pipe.hmget(SERVED_KEY, list(names))
        results = pipe.execute()
    served = results[-1]
    loads = []
    for i, name in enumerate(names):
        last = served[i]
        loads.append(
            QueueLoad(
                name=name,
                waiting=int(results[2 * i]),
                running=int(results[2 * i + 1]),
                last_served=int(last) if last is not None else 0,
            )
        )
    return loads


def note_served(connection: Redis, name: str) -> None:
    seq = connection.incr(SERVED_SEQ_KEY)
    connection.hset(SERVED_KEY, name, int(seq))  # type: ignore[arg-type]
