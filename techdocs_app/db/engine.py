"""Engine and sessions. One engine per process (re-created after fork: RQ workers fork per job)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session

from techdocs_app.settings import get_settings


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs (Supabase gives those) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


PING_AFTER_IDLE_S = 10.0
"""A pooled connection idle for longer than this is pinged before use (see `get_engine`)."""


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """The application's engine (`DATABASE_URL`: row-level security applies), or one for `url`."""
    url = normalize_url(url or get_settings().effective_database_url)
    engine = create_engine(
        url,
        pool_size=5,
        max_overflow=10,
        # psycopg switches to server-side prepared statements after 5 runs, which changed plans
        # for the hybrid search; keep plans stable.
        connect_args={"prepare_threshold": None, "connect_timeout": 5},
        # Errors and logs never show bound values (questions, emails, token hashes).
        hide_parameters=True,
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Like `pool_pre_ping`, but only for connections that sat idle in the pool.

    A question checks out a connection about ten times; pinging each one cost ~0.5 ms of CPU and
    a round trip apiece. A connection used moments ago is as good as the ping would say; one idle
    for PING_AFTER_IDLE_S (a restarted database, a proxy's idle timeout) is pinged, and on failure
    the pool replaces it before the caller sees it. A database that goes away mid-burst fails the
    statements in flight, and SQLAlchemy then invalidates the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: object, record: object) -> None:
        record.info["checked_in_at"] = time.monotonic()  # type: ignore[attr-defined]

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: object, record: object, proxy: object) -> None:
        last = record.info.get("checked_in_at")  # type: ignore[attr-defined]
        if last is None or time.monotonic() - last < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - any failure: let the pool reconnect
            raise DisconnectionError("idle connection failed its ping") from exc


def get_owner_engine() -> Engine:
    """The owner's engine (`DATABASE_OWNER_URL`): for `system_session_scope` only."""
    return get_engine(get_settings().effective_owner_database_url)


if hasattr(os, "register_at_fork"):

    def _clear() -> None:
        # A forked child must not share the parent's pooled connections: start a fresh pool.
        get_engine.cache_clear()

    os.register_at_fork(after_in_child=_clear)


TENANT_SETTING = "app.org_id"
"""The per-transaction setting that row-level security policies compare each row's `org_id` to."""

_SET_TENANT = "SELECT set_config('app.org_id', %(org_id)s, true)"


def set_tenant(connection: Connection, org_id: int) -> None:
    """Scope the current transaction of a Core `connection` to `org_id` (as `session_scope` does);
    for code that runs statements on `get_engine().connect()` directly. Call after `begin()`."""
    connection.exec_driver_sql(_SET_TENANT, {"org_id": str(int(org_id))})


@event.listens_for(Session, "after_begin")
def _scope_new_transaction(session: Session, transaction: object, connection: Connection) -> None:
    """Every transaction of a tenant session is scoped, also one begun after a mid-way commit
    (`set_config(..., true)` ends with its transaction)."""
    org_id = session.info.get("org_id")
    if org_id is not None:
        set_tenant(connection, org_id)


@contextmanager
def session_scope(*, org_id: int | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error.

    `org_id` is the organization of the authenticated principal (or of the job being run): the
    transaction then sets `app.org_id` (`SET LOCAL`, gone at commit), which the row-level security
    policies of the tenant tables compare against. Without it, tenant tables show no rows under RLS.
    Pass it from the principal or the job, never from client input.
    """
    info = {"org_id": int(org_id)} if org_id is not None else {}
    with Session(get_engine(), expire_on_commit=False, info=info) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


@contextmanager
def system_session_scope() -> Iterator[Session]:
    """A session for cross-organization maintenance only (sweeps, purges, webhooks that map a
    vendor's id to an organization, the command line's organization lookup).

    Never use it for a request's or a job's own work: those take `session_scope(org_id=...)`.
    This is the owner's connection (`DATABASE_OWNER_URL`): row-level security lets it see every
    organization. The web process uses it only for the identity lookups that come before an
    organization is known (`auth.sessions`, `auth.local`, `auth.team` invitation acceptance,
    `webhooks`), each a named function.
    """
    with Session(get_owner_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
