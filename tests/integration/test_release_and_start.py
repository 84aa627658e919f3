"""Starting the image's processes, without Docker: `scripts/start.sh` with ENVIRONMENT=production
says what is missing, waits for the database, and the release step (`migrate`) never runs twice at
once (Postgres advisory lock)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from techdocs_app import embedded
from techdocs_app.db.migrate import MIGRATION_LOCK_KEY, head_revisions
from techdocs_app.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SCRATCH_DB = "techdocs_release_check"


def _env(**values: str) -> dict[str, str]:
    """The image's environment: production, nothing configured unless given."""
    base = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "ENVIRONMENT": "production",
        # Empty means unset (and wins over this checkout's .env).
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "SESSION_SECRET": "",
        "SUPABASE_URL": "",
        "UPLOAD_DIR": "",
        "APP_URL": "",
    }
    base.update(values)
    return base


def _start(role: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["scripts/start.sh", role],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_unconfigured_production_start_names_every_missing_variable() -> None:
    for role in ("web", "worker", "migrate"):
        result = _start(role, _env())
        assert result.returncode == 78, result.stderr
        assert "cannot start" in result.stderr
        for name in (
            "DATABASE_URL",
            "REDIS_URL",
            "SESSION_SECRET",
            "SUPABASE_URL",
            "UPLOAD_DIR",
            "APP_URL",
        ):
            assert name in result.stderr, (role, result.stderr)
        assert "Traceback" not in result.stderr


def test_start_with_an_unknown_role_shows_usage() -> None:
    result = _start("serve", _env())
    assert result.returncode == 64 and "usage" in result.stderr


def _owner_url(app_url: str) -> str:
    """The owner's URL for the same database (the app connects as the application role)."""
    owner_base = os.environ["DATABASE_OWNER_URL"].rsplit("/", 1)[0]
    return f"{owner_base}/{app_url.rsplit('/', 1)[1]}"


def _production_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return _env(
        DATABASE_URL=database_url,
        DATABASE_OWNER_URL=_owner_url(database_url),
        APP_URL="https://shop.techdocs.example",
        REDIS_URL=redis_url,
        SESSION_SECRET="x" * 40,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        START_WAIT_S="3",
    )


def test_start_waits_for_an_unreachable_database_then_says_so(
    services: dict[str, str], tmp_path: Path
) -> None:
    env = _production_env(
        "postgresql+psycopg://techdocs@127.0.0.1:9/techdocs", services["redis_url"], tmp_path
    )
    result = _start("worker", env)
    assert result.returncode == 69, result.stderr
    assert "still waiting" in result.stderr and "postgres unreachable" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_check_is_ready_against_the_migrated_database(
    services: dict[str, str], tmp_path: Path
) -> None:
    env = _production_env(services["database_url"], services["redis_url"], tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "techdocs_app", "check", "--wait", "10"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "ready: postgres, redis, migrations" in result.stdout


@pytest.fixture
def scratch_url(services: dict[str, str]) -> str:
    settings = Settings()
    embedded.drop_database(settings, SCRATCH_DB)
    embedded.ensure_database(settings, SCRATCH_DB)
    yield services["database_url"].rsplit("/", 1)[0] + f"/{SCRATCH_DB}"
    embedded.drop_database(settings, SCRATCH_DB)


def _migrate(url: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {**_production_env(url, "redis://127.0.0.1:6379/0", tmp_path), "START_WAIT_S": "30"}
    return subprocess.Popen(
        ["scripts/start.sh", "migrate"],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _versions(url: str) -> list[str]:
    engine = create_engine(_owner_url(url))
    try:
        with engine.connect() as conn:
            if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
                return []
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def test_a_second_migrator_waits_for_the_first(scratch_url: str, tmp_path: Path) -> None:
    """While another migrator holds the lock, `migrate` blocks on it and changes nothing."""
    engine = create_engine(_owner_url(scratch_url))
    high, low = MIGRATION_LOCK_KEY >> 32, MIGRATION_LOCK_KEY & 0xFFFFFFFF
    try:
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            holder.commit()
            process = _migrate(scratch_url, tmp_path)
            try:
                waiting = 0
                for _ in range(600):  # until the migrator is queued on our lock
                    waiting = holder.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                            "AND NOT granted AND classid = :high AND objid = :low"
                        ),
                        {"high": high, "low": low},
                    ).scalar_one()
                    holder.commit()
                    if waiting or process.poll() is not None:
                        break
                    time.sleep(0.1)
                assert waiting == 1, process.communicate()[0] if process.poll() is not None else ""
                assert _versions(scratch_url) == []  # nothing migrated while we hold the lock
            finally:
                holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                holder.commit()
            output, _ = process.communicate(timeout=120)
            assert process.returncode == 0, output
    finally:
        engine.dispose()
    assert set(_versions(scratch_url)) == set(head_revisions())


def test_two_releases_starting_at_once_migrate_once(scratch_url: str, tmp_path: Path) -> None:
    first, second = _migrate(scratch_url, tmp_path), _migrate(scratch_url, tmp_path)
    out1, _ = first.communicate(timeout=180)
    out2, _ = second.communicate(timeout=180)
    assert first.returncode == 0, out1
    assert second.returncode == 0, out2
    assert set(_versions(scratch_url)) == set(head_revisions())
