"""Run Alembic programmatically (CLI, Makefile, test harness).

Migrations connect as the tables' owner (`DATABASE_OWNER_URL`, or the embedded superuser); the
application role they create and grant is the user of `DATABASE_URL` (see `db.rls`).
"""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from techdocs_app.settings import PROJECT_ROOT


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
            rls.ensure_app_role(conn, normalize_url(app_url or settings.effective_database_url))
    finally:
        engine.dispose()


def downgrade_base(url: str | None = None) -> None:
    command.downgrade(alembic_config(url), "base")
