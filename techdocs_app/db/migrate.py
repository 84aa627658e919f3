"""Run Alembic programmatically (CLI, Makefile, test harness)."""

from __future__ import annotations

from alembic.config import Config

from alembic import command
from techdocs_app.settings import PROJECT_ROOT


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
