"""Redis-backed rate limits: a small reusable limiter and a failure back-off.

Two primitives, each one Lua script (atomic across every web process and worker sharing Redis,
timed by Redis's own clock so hosts with skewed clocks agree):

- `Rate(name, limit, period_s)` + `hit(rate, subject)`: at most `limit` events per `period_s` for
  one subject (a user id, an organization, a client address, an API key), as a GCRA (generic cell
  rate algorithm: a token bucket kept as one timestamp per subject). A full burst of `limit` is
  allowed at once, then one event every `period_s / limit`. A refusal raises `RateLimited` whose
  `retry_after` is exact: the time until one more event fits.
- `Backoff(name, free, base_s, max_s, window_s)`: after `free` failures (wrong passwords) each
  further failure doubles the wait before the next attempt (`base_s`, `2*base_s`, ... up to
  `max_s`); `check` refuses while a wait runs; `succeeded` forgets the subject; failures are
  forgotten `window_s` after the last one.

Subjects are hashed into the key (an email or an address never appears in Redis in clear).
Redis unreachable: the limits fail open (allow) and say so once in the log; the product keeps
working, and the bounded password-hashing executor still caps the cost of a burst.

Example (the REST API, per API key)::

    API_CALLS = Rate("api-key", limit=120, period_s=60)
    ratelimit.hit(API_CALLS, str(api_key.id), what="Too many API requests.")
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

import redis

from techdocs_app.cache import get_redis, mark_down
from techdocs_app.errors import RateLimited

log = logging.getLogger(__name__)

KEY_PREFIX = "td:rl"

__all__ = [
    "Backoff",
    "Rate",
    "RateLimited",
    "hit",
    "peek",
    "reset",
]

# KEYS[1]: the subject's key. ARGV: interval (ms per event), period (ms), cost (events), dry (1:
# only report). Returns {allowed (1/0), wait_ms}. The stored value is the "theoretical arrival
# time" (TAT): when the bucket would be empty again; it expires when it is in the past.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval * cost
local allow_at = new_tat - period
if allow_at > now then
  return {0, allow_at - now}
end
if ARGV[4] ~= '1' then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.max(1, new_tat - now))
end
return {1, 0}
"""

# KEYS[1]: hash {n: failures, until: ms}. ARGV: mode ('check' | 'fail'), free, base (ms),
# max (ms), window (ms). Returns the wait in ms (0: go ahead).
_BACKOFF = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if ARGV[1] == 'check' then
  if until_ms > now then return until_ms - now end
  return 0
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free = tonumber(ARGV[2])
local wait = 0
if n > free then
  wait = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * (2 ^ (n - free - 1)))
  redis.call('HSET', KEYS[1], 'until', now + wait)
end
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[5]), wait))
return wait
"""


@dataclass(frozen=True)
class Rate:
    """At most `limit` events per `period_s` seconds per subject. `limit <= 0` disables it."""

    name: str
    limit: int
    period_s: float

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.period_s > 0


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off after `free` failures; `free < 0` disables it."""

    name: str
    free: int
    base_s: float
    max_s: float
    window_s: float

    @property
    def enabled(self) -> bool:
        return self.free >= 0 and self.base_s > 0


def subject_key(kind: str, name: str, subject: str) -> str:
    """The Redis key of one subject of one limit (the subject itself is hashed)."""
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{KEY_PREFIX}:{kind}:{name}:{digest}"


def _eval(script: str, key: str, *args: str | int) -> Any:
    """Run a limiter script; None when Redis is unavailable (the caller then allows)."""
    client = get_redis()
    if client is None:
        return None
    try:
        return client.eval(script, 1, key, *args)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        mark_down(exc)
        return None
    except redis.RedisError:
        log.exception("rate limiter script failed; allowing the request")
        return None


def _gcra(rate: Rate, subject: str, *, cost: int, dry: bool) -> float:
    """Seconds to wait before `cost` more events fit (0: allowed, and counted unless `dry`)."""
    if not rate.enabled or cost <= 0:
        return 0.0
    period_ms = max(1, round(rate.period_s * 1000))
    interval_ms = max(1, round(period_ms / rate.limit))
    result = _eval(
        _GCRA,
        subject_key("rate", rate.name, subject),
        interval_ms,
        period_ms,
        int(cost),
        "1" if dry else "0",
    )
    if not isinstance(result, list) or len(result) != 2:
        return 0.0
    allowed, wait_ms = int(result[0]), int(result[1])
    return 0.0 if allowed else wait_ms / 1000.0


def hit(rate: Rate, subject: str, *, cost: int = 1, what: str = "Too many attempts.") -> None:
    """Count `cost` events for `subject`, or raise `RateLimited` (nothing counted) if they do
    not fit. `what` starts the message ("Too many questions."); the wait is appended."""
    wait = _gcra(rate, subject, cost=cost, dry=False)
    if wait > 0:
        raise RateLimited(what, retry_after=wait, detail=f"rate {rate.name}")


def peek(rate: Rate, subject: str, *, cost: int = 1) -> float:
    """Seconds until `cost` more events would fit (0: they would), counting nothing."""
    return _gcra(rate, subject, cost=cost, dry=True)


def reset(rate: Rate | Backoff, subject: str) -> None:
    """Forget a subject (a successful sign-in, an administrator's unlock, tests)."""
    kind = "rate" if isinstance(rate, Rate) else "backoff"
    client = get_redis()
    if client is None:
        return
    try:
        client.delete(subject_key(kind, rate.name, subject))
    except redis.RedisError as exc:
        mark_down(exc)


def backoff_wait(backoff: Backoff, subject: str) -> float:
    """Seconds the subject must still wait after its failures (0: go ahead)."""
    if not backoff.enabled:
        return 0.0
    result = _eval(_BACKOFF, subject_key("backoff", backoff.name, subject), "check", 0, 0, 0, 0)
    return int(result) / 1000.0 if isinstance(result, int) else 0.0


def check_backoff(backoff: Backoff, subject: str, *, what: str = "Too many attempts.") -> None:
    """Raise `RateLimited` while the subject's back-off runs."""
    wait = backoff_wait(backoff, subject)
    if wait > 0:
        raise RateLimited(what, retry_after=wait, detail=f"backoff {backoff.name}")


def record_failure(backoff: Backoff, subject: str) -> float:
    """Count one failure; returns the wait it imposes before the next attempt (0: none yet)."""
    if not backoff.enabled:
        return 0.0
    result = _eval(
        _BACKOFF,
        subject_key("backoff", backoff.name, subject),
        "fail",
        int(backoff.free),
        max(1, round(backoff.base_s * 1000)),
        max(1, round(backoff.max_s * 1000)),
        max(1, round(backoff.window_s * 1000)),
    )
    return int(result) / 1000.0 if isinstance(result, int) else 0.0
