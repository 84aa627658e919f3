"""The pool pings a connection that sat idle, and replaces one the database has dropped."""

from __future__ import annotations

from sqlalchemy import text

from techdocs_app.db import engine as engine_module
from techdocs_app.db.engine import get_engine


def _backend_pid() -> int:
    with get_engine().connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()


def test_a_dropped_idle_connection_is_replaced_before_use(db, monkeypatch) -> None:  # noqa: ANN001
    engine = get_engine()
    engine.dispose()
    # Two connections in the pool: the second one terminates the first (a restarted database,
    # a proxy's idle timeout).
    with engine.connect() as first, engine.connect() as second:
        victim = int(first.execute(text("SELECT pg_backend_pid()")).scalar_one())
        second.execute(text("SELECT 1"))
    _terminate(victim)

    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    # Every pooled connection is checked out in turn (without the ping, the one whose backend
    # was terminated raises here); the dropped one was replaced by a new backend.
    pids = {_backend_pid() for _ in range(4)}
    assert victim not in pids


def test_a_recently_used_connection_is_not_pinged(db, monkeypatch) -> None:  # noqa: ANN001
    engine = get_engine()
    engine.dispose()
    pid = _backend_pid()
    pings: list[object] = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    assert _backend_pid() == pid
    assert pings == []
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    assert _backend_pid() == pid
    assert len(pings) == 1
