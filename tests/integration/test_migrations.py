"""The first migration: upgrade on an empty database, downgrade to base, no drift from the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

from techdocs_app import embedded
from techdocs_app.db import models  # noqa: F401
from techdocs_app.db.migrate import downgrade_base, upgrade_head
from techdocs_app.settings import Settings

SCRATCH_DB = "techdocs_migration_check"


@pytest.fixture
def scratch_url(services: dict[str, str]) -> str:
    settings = Settings()
    base = services["owner_database_url"].rsplit("/", 1)[0]
    embedded.drop_database(settings, SCRATCH_DB) if not settings.database_url else None
    embedded.ensure_database(settings, SCRATCH_DB)
    return f"{base}/{SCRATCH_DB}"


def test_upgrade_downgrade_and_no_drift(scratch_url: str) -> None:
    engine = create_engine(scratch_url)
    try:
        upgrade_head(scratch_url)
        tables = set(inspect(engine).get_table_names())
        assert {
            "organizations",
            "users",
            "memberships",
            "invitations",
            "documents",
            "chunks",
            "conversations",
            "messages",
            "query_logs",
            "webhook_events",
            "auth_sessions",
        } <= tables
        with engine.connect() as conn:
            exts = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
            assert {"vector", "pg_trgm"} <= exts
            indexes = {
                row[0]: row[1]
                for row in conn.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'chunks'")
                )
            }
        assert "USING hnsw (embedding vector_cosine_ops)" in indexes["ix_chunks_embedding_hnsw"]
        assert "gin_trgm_ops" in indexes["ix_chunks_identifiers_trgm"]
        assert "USING gin (tsv)" in indexes["ix_chunks_tsv"]
        assert "ix_chunks_org_id" in indexes

        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == [], f"models and migration differ: {diff}"

        downgrade_base(scratch_url)
        remaining = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
    finally:
        engine.dispose()
