"""Run Alembic programmatically (CLI, Makefile, test harness), and tell whether a database is at head.

`alembic upgrade head` is a release step (`python -m techdocs_app migrate`: compose's `migrate`
service, Render's preDeployCommand), never part of every process start. Two releases starting at
once never both migrate: `alembic/env.py` takes the Postgres advisory lock `MIGRATION_LOCK_KEY`
before it reads the current revision, so the second waits, then finds the schema at head and does
nothing.
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


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    if url:
        cfg.attributes["database_url"] = url
    return cfg


def upgrade_head(url: str | None = None) -> None:
    command.upgrade(alembic_config(url), "head")


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
