"""Run Alembic programmatically (CLI, Makefile, test harness), and tell whether a database is at head.

`alembic upgrade head` is a release step (`python -m techdocs_app migrate`: compose's `migrate`
service, Render's preDeployCommand), never part of every process start. Two releases starting at
once never both migrate: `alembic/env.py` takes the Postgres advisory lock `MIGRATION_LOCK_KEY`
before it reads the current revision, so the second waits, then finds the schema at head and does
nothing.

Migrations connect as the tables' owner (`DATABASE_OWNER_URL`, or the embedded superuser); the
application role they create and grant is the user of `DATABASE_URL` (see `db.rls`).
"""

from __future__ import annotations

from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from alembic import command
from techdocs_app.settings import PROJECT_ROOT

MIGRATION_LOCK_KEY = 7_310_000_013
"""`pg_advisory_lock` key held while migrating (any constant no other code uses)."""


def alembic_config(url: str | None = None, app_url: str | None = None) -> Config:
    """`url`: the owner's connection (default: settings); `app_url`: the application's."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    if url:
        cfg.attributes["database_url"] = url
    if app_url:
        cfg.attributes["app_database_url"] = app_url
    return cfg


def upgrade_head(url: str | None = None, app_url: str | None = None) -> None:
    """Migrate, then (re-)grant the application role: a changed DATABASE_URL user gets its
    privileges even when no migration is pending."""
    from sqlalchemy import create_engine, pool

    from techdocs_app.db import rls
    from techdocs_app.db.engine import normalize_url
    from techdocs_app.settings import get_settings

    command.upgrade(alembic_config(url, app_url), "head")
    settings = get_settings()
    owner_url = normalize_url(url or settings.effective_owner_database_url)
    engine = create_engine(owner_url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            # Under the migrators' lock too: two releases granting at once collide in the
            # catalog ("tuple concurrently updated").
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            rls.ensure_app_role(conn, normalize_url(app_url or settings.effective_database_url))
    finally:
        engine.dispose()


def downgrade_base(url: str | None = None) -> None:
    command.downgrade(alembic_config(url), "base")


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The revisions of this code's migration scripts that nothing follows (read once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    """The revisions recorded in the database (empty when it was never migrated)."""
    if connection.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return frozenset()
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
