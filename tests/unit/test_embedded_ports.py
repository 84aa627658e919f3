"""`make services` with a port taken by another program says so and names the variable that moves it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from techdocs_app import embedded
from techdocs_app.settings import Settings


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port held by a program that is neither Postgres nor Redis."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_postgres_port_taken(
    busy_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None, pg_port=busy_port, data_dir=tmp_path / "data")
    with pytest.raises(embedded.ServiceError) as err:
        embedded.start_postgres(settings)
    assert f"Port {busy_port}" in str(err.value)
    assert "PG_PORT" in str(err.value)
    assert not (tmp_path / "data" / "pg" / "PG_VERSION").exists()


def test_redis_port_taken_by_something_else(busy_port: int, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None, data_dir=tmp_path, redis_url=f"redis://127.0.0.1:{busy_port}/0"
    )
    with pytest.raises(embedded.ServiceError) as err:
        embedded.start_redis(settings)
    assert "REDIS_URL" in str(err.value)
