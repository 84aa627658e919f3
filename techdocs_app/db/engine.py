"""Engine and sessions. One engine per process (re-created after fork: RQ workers fork per job)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from techdocs_app.settings import get_settings


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs (Supabase gives those) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    url = normalize_url(url or get_settings().effective_database_url)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        # psycopg switches to server-side prepared statements after 5 runs, which changed plans
        # for the hybrid search; keep plans stable.
        connect_args={"prepare_threshold": None, "connect_timeout": 5},
    )


if hasattr(os, "register_at_fork"):

    def _clear() -> None:
        # A forked child must not share the parent's pooled connections: start a fresh pool.
        get_engine.cache_clear()

    os.register_at_fork(after_in_child=_clear)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
