"""Test harness.

Unit tests need nothing external. Integration and browser tests ask for `db` / `redis_client`; the first
such request starts the embedded Postgres and the Redis exactly as `make services` does (never skipped),
creates a dedicated test database (TECHDOCS_TEST_DB, default `techdocs_test`) migrated to head, and points
the settings at it and at a dedicated Redis database (TECHDOCS_TEST_REDIS_DB, default 15).
Each test starts from empty tables and an empty Redis database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from dotenv import dotenv_values

REPO = Path(__file__).resolve().parent.parent
# The environment wins; a checkout's `.env` may set these too (parallel checkouts on one machine).
_DOTENV = dotenv_values(REPO / ".env")
# The eval corpus sits beside the checkout (`../shared/eval`); a worktree elsewhere names it.
EVAL_DIR = Path(
    os.environ.get("TECHDOCS_EVAL_DIR")
    or _DOTENV.get("TECHDOCS_EVAL_DIR")
    or REPO.parent / "shared" / "eval"
).resolve()
CORPUS_DIR = EVAL_DIR / "corpus"
DEV_QUESTIONS = EVAL_DIR / "dev.jsonl"
TEST_DB = os.environ.get("TECHDOCS_TEST_DB") or _DOTENV.get("TECHDOCS_TEST_DB") or "techdocs_test"
TEST_REDIS_DB = int(
    os.environ.get("TECHDOCS_TEST_REDIS_DB") or _DOTENV.get("TECHDOCS_TEST_REDIS_DB") or "15"
)


def _reset_settings_caches() -> None:
    from techdocs_app.db.engine import get_engine
    from techdocs_app.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        from techdocs_app import providers

        reset = getattr(providers, "reset_providers", None)
        if reset:
            reset()
    except ImportError:
        pass


@pytest.fixture(scope="session")
def services() -> Iterator[dict[str, str]]:
    """The real Postgres and Redis, started if needed; settings pointed at the test database."""
    from techdocs_app import embedded
    from techdocs_app.db.migrate import upgrade_head
    from techdocs_app.settings import Settings

    base = Settings()
    embedded.up(base)
    if base.database_url:
        db_url = f"{base.database_url.rsplit('/', 1)[0]}/{TEST_DB}"
        owner_url = f"{base.effective_owner_database_url.rsplit('/', 1)[0]}/{TEST_DB}"
    else:
        embedded.ensure_database(base, TEST_DB)
        db_url = base.embedded_database_url(TEST_DB)
        owner_url = base.embedded_database_url(TEST_DB, owner=True)
    redis_base = base.effective_redis_url.rsplit("/", 1)[0]
    redis_url = f"{redis_base}/{TEST_REDIS_DB}"
    # The app connects as the application role (row-level security applies); migrations,
    # maintenance and the harness's truncation as the owner.
    os.environ["DATABASE_URL"] = db_url
    os.environ["DATABASE_OWNER_URL"] = owner_url
    os.environ["REDIS_URL"] = redis_url
    os.environ["ENVIRONMENT"] = "test"
    os.environ.setdefault("UPLOAD_DIR", str(REPO / ".data" / f"test-uploads-{TEST_DB}"))
    _reset_settings_caches()
    upgrade_head(owner_url, db_url)
    yield {"database_url": db_url, "owner_database_url": owner_url, "redis_url": redis_url}
    _reset_settings_caches()


def truncate_all() -> None:
    """Empty every table of the schema (all of `SQLModel.metadata`, so new tables are included)."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    import techdocs_app.db.models  # noqa: F401 - registers the tables
    from techdocs_app.db.engine import get_owner_engine

    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with get_owner_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def redis_client(services: dict[str, str]):  # noqa: ANN201 - redis.Redis
    import redis

    client = redis.Redis.from_url(services["redis_url"])
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def db(services: dict[str, str], redis_client) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """Empty tables (and an empty test Redis database) for this test."""
    truncate_all()
    yield services


@pytest.fixture
def make_org(db: dict[str, str]):  # noqa: ANN201
    """Create an organization with its owner through the real sign-up service."""
    from techdocs_app.auth import local

    counter = {"n": 0}

    def _make(name: str = "Shop", email: str | None = None, password: str = "correct horse 42"):
        counter["n"] += 1
        email = email or f"owner{counter['n']}@{name.lower().replace(' ', '')}.example"
        return local.sign_up(org_name=name, email=email, password=password)

    return _make


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    assert CORPUS_DIR.is_dir(), f"eval corpus missing at {CORPUS_DIR}"
    return CORPUS_DIR


@pytest.fixture(scope="session")
def dev_questions_path() -> Path:
    assert DEV_QUESTIONS.exists(), f"dev questions missing at {DEV_QUESTIONS}"
    return DEV_QUESTIONS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last: their app and worker (started once for the session) share the test
    database and Redis, and Playwright's sync API keeps an event loop running until the session ends,
    so nothing else may run after them."""
    e2e_dir = Path(__file__).resolve().parent / "e2e"

    def is_e2e(item: pytest.Item) -> bool:
        return e2e_dir in Path(str(item.fspath)).resolve().parents

    items.sort(key=is_e2e)
    for item in items:
        path = Path(str(item.fspath)).resolve()
        if is_e2e(item):
            item.add_marker(pytest.mark.e2e)
        elif "integration" in path.parts:
            item.add_marker(pytest.mark.integration)
