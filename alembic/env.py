"""Alembic environment: metadata from the SQLModel models, URL from settings."""

from __future__ import annotations

from logging.config import fileConfig

from sqlalchemy import create_engine, pool, text
from sqlmodel import SQLModel

from alembic import context
from techdocs_app.db import models  # noqa: F401 - registers every table on SQLModel.metadata
from techdocs_app.db.engine import normalize_url
from techdocs_app.db.migrate import MIGRATION_LOCK_KEY
from techdocs_app.settings import get_settings

config = context.config
if config.config_file_name is not None and not config.attributes.get("database_url"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    """The owner's connection: migrations create tables, policies and the application role."""
    return normalize_url(
        config.attributes.get("database_url") or get_settings().effective_owner_database_url
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        # One migrator at a time (two releases starting at once): the second waits here, then
        # reads the revision the first one left and has nothing to do. Session-level: released
        # when this connection closes.
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
