"""Liveness and readiness.

- `/api/health`: the process is up and serving (no dependency is touched).
- `/api/ready`: the process can do its work: Postgres answers, Redis answers, and the database
  schema is at this code's Alembic head (the release step has run). Load balancers, compose and
  the Render blueprint route traffic only to a ready process.

The answers name each check and a short reason, never a URL, host or credential: the endpoint is
unauthenticated.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from functools import lru_cache

import redis
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from techdocs_app.db.engine import get_engine
from techdocs_app.db.migrate import current_revisions, head_revisions
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    ms: float = 0.0


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S
    )


def reset_health_clients() -> None:
    """Forget cached clients (tests change REDIS_URL)."""
    _redis_client.cache_clear()


def check_database() -> tuple[Check, Check]:
    """Postgres answers, and its schema is at this code's head revision."""
    start = time.perf_counter()
    try:
        with get_engine().connect() as conn:
            conn.execute(
                text("SELECT set_config('statement_timeout', :ms, true)"),
                {"ms": str(int(CHECK_TIMEOUT_S * 1000))},
            )
            conn.execute(text("SELECT 1"))
            current = current_revisions(conn)
            conn.rollback()
    except (SQLAlchemyError, OSError) as exc:
        log.warning("readiness: postgres unreachable (%s)", type(exc).__name__)
        ms = round((time.perf_counter() - start) * 1000, 1)
        return (
            Check("postgres", False, "unreachable", ms),
            Check("migrations", False, "unknown: the database is unreachable"),
        )
    ms = round((time.perf_counter() - start) * 1000, 1)
    heads = head_revisions()
    if current == heads:
        migrations = Check("migrations", True, f"at head {', '.join(sorted(heads))}")
    else:
        found = ", ".join(sorted(current)) or "none"
        migrations = Check(
            "migrations",
            False,
            f"database at {found}, code expects {', '.join(sorted(heads))}: "
            "run `python -m techdocs_app migrate` (the release step)",
        )
    return Check("postgres", True, "", ms), migrations


def check_redis() -> Check:
    start = time.perf_counter()
    try:
        _redis_client(get_settings().effective_redis_url).ping()
    except (redis.RedisError, OSError) as exc:
        log.warning("readiness: redis unreachable (%s)", type(exc).__name__)
        return Check("redis", False, "unreachable", round((time.perf_counter() - start) * 1000, 1))
    return Check("redis", True, "", round((time.perf_counter() - start) * 1000, 1))


def readiness() -> tuple[bool, list[Check]]:
    postgres, migrations = check_database()
    checks = [postgres, check_redis(), migrations]
    return all(c.ok for c in checks), checks


def readiness_payload() -> tuple[int, dict[str, object]]:
    """(HTTP status, JSON body) of `/api/ready`."""
    ok, checks = readiness()
    body: dict[str, object] = {
        "status": "ready" if ok else "not_ready",
        "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in checks},
    }
    return (200 if ok else 503), body
