"""Per-key rate limits of the REST API: every request, and questions (which cost the most).

A fixed one-minute window per key and bucket in Redis (`INCR` + `EXPIRE`, atomic in a pipeline,
shared by every app process). Over the limit: `RateLimited` with the seconds until the window
ends, which the API answers as 429 with `Retry-After`. Redis unreachable: allowed (fail open;
the product keeps working) and logged.
"""

from __future__ import annotations

import logging
import time

from redis.exceptions import RedisError

from techdocs_app.errors import TechDocsError

log = logging.getLogger(__name__)

WINDOW_S = 60


class RateLimited(TechDocsError):
    user_message = "Too many requests. Wait a moment, then try again."

    def __init__(self, user_message: str | None = None, *, retry_after: float) -> None:
        super().__init__(user_message, detail=f"retry after {retry_after:.0f} s")
        self.retry_after = retry_after


def limit_key(*, org_id: int, key_id: int, bucket: str, window: int) -> str:
    """`td:rl:<org>:apikey:…`: organization-scoped, so deleting the organization removes it."""
    return f"td:rl:{int(org_id)}:apikey:{int(key_id)}:{bucket}:{window}"


def hit(*, org_id: int, key_id: int, bucket: str, limit: int, what: str) -> None:
    from techdocs_app import jobs

    now = time.time()
    window = int(now // WINDOW_S)
    key = limit_key(org_id=org_id, key_id=key_id, bucket=bucket, window=window)
    try:
        with jobs.get_redis().pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW_S + 5)
            count, _ = pipe.execute()
    except RedisError as exc:
        log.warning("rate limit unavailable (%s); allowing the request", type(exc).__name__)
        return
    if int(count) > limit:
        raise RateLimited(
            f"{what} Wait a moment, then try again.",
            retry_after=(window + 1) * WINDOW_S - now,
        )
