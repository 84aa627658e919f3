"""A newcomer's first run: the project copied into a private `mktemp -d` folder (mode 0700) runs
`make test` there (a focused part of the suite, to stay within CI time), and `make stop` stops the
Postgres it started.

As root the embedded Postgres runs as the unprivileged `techdocs` user, who cannot enter a 0700
folder: its data must go where that user can (`embedded.pg_data_dir`), with no extra variable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.conftest import TEST_REDIS_DB

REPO = Path(__file__).resolve().parents[2]
INNER_TESTS = ["tests/integration/test_accounts.py", "tests/unit/test_embedded_ports.py"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _copy_checkout(dest: Path) -> None:
    """The working tree as it would be committed: tracked and new files, not ignored ones."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src = REPO / rel
        if not src.is_file() or rel.startswith("tests/eval/"):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    # The shared, already-installed virtualenv: `make setup` finds its stamp and installs nothing.
    (dest / ".venv").symlink_to((REPO / ".venv").resolve())


def _make(clone: Path, env: dict[str, str], *args: str, timeout: float) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(clone), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {' '.join(args)} failed:\n{output[-4000:]}"
    return output


def test_make_test_in_a_private_folder(services: dict[str, str]) -> None:
    parent = Path(tempfile.mkdtemp(prefix="techdocs-clone-"))  # mode 0700, like `mktemp -d`
    assert parent.stat().st_mode & 0o777 == 0o700
    clone = parent / "techdocs"
    clone.mkdir()
    _copy_checkout(clone)
    port = _free_port()
    (clone / ".env").write_text(
        f"PG_PORT={port}\nTECHDOCS_TEST_DB=techdocs_test\nTECHDOCS_TEST_REDIS_DB={TEST_REDIS_DB}\n"
    )
    # A clean environment: nothing of this test session's settings leaks into the clone.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    python = str(clone / ".venv" / "bin" / "python")
    try:
        output = _make(
            clone,
            env,
            "test",
            f"PYTEST_ARGS={' '.join(INNER_TESTS)} -q",
            timeout=600,
        )
        assert " passed" in output.strip().splitlines()[-1], output[-2000:]
        status = subprocess.run(
            [python, "-m", "techdocs_app", "services", "status"],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data_line = next(line for line in status.splitlines() if line.startswith("postgres:"))
        if os.geteuid() == 0:
            assert "/var/lib/techdocs/techdocs-" in data_line, status
        else:
            assert str(clone / ".data" / "pg") in data_line, status
        stopped = _make(clone, env, "stop", timeout=120)
        assert "postgres: stopped" in stopped, stopped
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, "Postgres still listens"
    finally:
        subprocess.run(
            ["make", "-C", str(clone), "stop"], env=env, capture_output=True, timeout=120
        )
        data = subprocess.run(
            [
                python,
                "-c",
                "from techdocs_app import embedded; from techdocs_app.settings "
                "import get_settings; print(embedded.pg_data_dir(get_settings()).parent)",
            ],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if data.startswith("/var/lib/techdocs/"):
            shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(parent, ignore_errors=True)
