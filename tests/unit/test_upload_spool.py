"""Uploads stream to temporary files with a per-file cap (issue 10 §2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from techdocs_app.upload_spool import FLUSH_BYTES, FileTooLarge, TooManyFiles, UploadSpool


def _feed(spool: UploadSpool, name: str, data: bytes, chunk: int = 64 * 1024) -> None:
    for offset in range(0, max(len(data), 1), chunk):
        if spool.add(name, offset, data[offset : offset + chunk]):
            spool.flush()


def test_files_land_on_disk_in_order_and_the_directory_goes_away(tmp_path: Path) -> None:
    first, second = b"%PDF-1.7 a" * 300_000, b"%PDF-1.7 b" * 1000
    with UploadSpool(max_file_bytes=10_000_000, max_files=5, directory=tmp_path) as spool:
        _feed(spool, "a.pdf", first)
        _feed(spool, "a.pdf", second)  # same name, a new file (offset 0 again)
        _feed(spool, "empty.pdf", b"")
        spool.flush()
        assert [(f.name, f.size) for f in spool.files] == [
            ("a.pdf", len(first)),
            ("a.pdf", len(second)),
            ("empty.pdf", 0),
        ]
        assert spool.files[0].path.read_bytes() == first
        assert spool.files[1].path.read_bytes() == second
        assert spool.files[2].path.read_bytes() == b""
        directory = spool.directory
    assert not directory.exists()


def test_a_file_over_the_limit_stops_with_its_name_and_little_is_buffered(tmp_path: Path) -> None:
    spool = UploadSpool(max_file_bytes=3 * FLUSH_BYTES, max_files=5, directory=tmp_path)
    with pytest.raises(FileTooLarge) as refused:
        _feed(spool, "huge <b>manual</b>.pdf", b"x" * (10 * FLUSH_BYTES))
    assert refused.value.user_message.startswith("huge <b>manual</b>.pdf is larger than 3 MB")
    current = spool.files[0]
    assert current.size <= 3 * FLUSH_BYTES
    assert sum(len(p) for p in current._pending) < FLUSH_BYTES  # memory holds < 1 MB
    spool.close()


def test_too_many_files(tmp_path: Path) -> None:
    with UploadSpool(max_file_bytes=1000, max_files=2, directory=tmp_path) as spool:
        spool.add("1.pdf", 0, b"1")
        spool.add("2.pdf", 0, b"2")
        with pytest.raises(TooManyFiles) as refused:
            spool.add("3.pdf", 0, b"3")
    assert "at most 2 files" in refused.value.user_message


def test_a_received_file_is_copied_to_the_spool_up_to_one_byte_past_the_limit(
    tmp_path: Path,
) -> None:
    import io

    from techdocs_app.upload_spool import copy_to_spool

    small = copy_to_spool(io.BytesIO(b"%PDF-1.7 small"), directory=tmp_path / "s", max_bytes=100)
    assert small.read_bytes() == b"%PDF-1.7 small" and small.parent == tmp_path / "s"
    big = copy_to_spool(io.BytesIO(b"x" * 5000), directory=tmp_path / "s", max_bytes=100)
    assert big.stat().st_size == 101  # enough for the size check to refuse it, no more
    assert small != big

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("disk gone")

    before = set((tmp_path / "s").iterdir())
    with pytest.raises(OSError):
        copy_to_spool(Broken(), directory=tmp_path / "s", max_bytes=100)
    assert set((tmp_path / "s").iterdir()) == before  # nothing left behind
