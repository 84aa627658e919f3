"""The files of one upload request, streamed to temporary files as they arrive.

The Library's upload handler receives the request body in chunks (Reflex's
`UploadChunkIterator`, with back-pressure: the server reads no faster than this writes). Each
file goes to its own temporary file, never into memory whole; a file past `max_file_bytes`, or a
request with more than `max_files` files, stops the upload with a message naming the file. The
directory and everything in it is removed by `close()` (use the spool as a context manager).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from techdocs_app.errors import UploadRejected

FLUSH_BYTES = 1024 * 1024
"""Chunks are gathered up to this many bytes before one write to disk."""


def size_label(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


class FileTooLarge(UploadRejected):
    pass


class TooManyFiles(UploadRejected):
    pass


@dataclass
class SpooledFile:
    name: str
    path: Path
    size: int = 0
    _pending: list[bytes] = field(default_factory=list, repr=False)
    _pending_bytes: int = field(default=0, repr=False)


class UploadSpool:
    def __init__(
        self, *, max_file_bytes: int, max_files: int, directory: Path | None = None
    ) -> None:
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.directory = Path(tempfile.mkdtemp(prefix="techdocs-upload-", dir=directory))
        self.files: list[SpooledFile] = []

    def __enter__(self) -> UploadSpool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def current(self) -> SpooledFile | None:
        return self.files[-1] if self.files else None

    def add(self, name: str, offset: int, data: bytes) -> bool:
        """Take one chunk (a new file starts at offset 0). True when buffered data should be
        written now (`flush`, best off the event loop). Raises `FileTooLarge` / `TooManyFiles`."""
        current = self.current
        if current is None or offset == 0:
            if current is not None:
                self.flush()
            if len(self.files) >= self.max_files:
                raise TooManyFiles(
                    f"Upload at most {self.max_files} files at a time; "
                    f"{name} and the files after it were not uploaded."
                )
            path = self.directory / f"{len(self.files):03d}.pdf"
            path.touch(mode=0o600)
            current = SpooledFile(name=name, path=path)
            self.files.append(current)
        if current.size + len(data) > self.max_file_bytes:
            raise FileTooLarge(
                f"{name} is larger than {size_label(self.max_file_bytes)}, the limit for one "
                "manual: the upload stopped there. Split or compress that PDF, then upload it "
                "and any files after it again."
            )
        current.size += len(data)
        if data:
            current._pending.append(data)
            current._pending_bytes += len(data)
        return current._pending_bytes >= FLUSH_BYTES

    def flush(self) -> None:
        """Write the current file's buffered chunks to its temporary file."""
        current = self.current
        if current is None or not current._pending:
            return
        with current.path.open("ab") as fh:
            for piece in current._pending:
                fh.write(piece)
        current._pending.clear()
        current._pending_bytes = 0

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def copy_to_spool(source: BinaryIO, *, directory: Path, max_bytes: int) -> Path:
    """Copy an already received file (the REST API's multipart part, which Starlette keeps in a
    spooled temporary file) to a file of our own under `directory`, 1 MB at a time and at most
    `max_bytes + 1` bytes (enough for the size check to say it is too large). The caller removes
    it."""
    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="techdocs-api-upload-", suffix=".pdf", dir=directory)
    path = Path(name)
    left = max_bytes + 1
    try:
        with open(handle, "wb") as out:
            while left > 0:
                piece = source.read(min(FLUSH_BYTES, left))
                if not piece:
                    break
                out.write(piece)
                left -= len(piece)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
