"""Where uploaded manuals are kept: a local directory by default, Supabase Storage when configured.

`get_file_store()` is the one place that chooses (SUPABASE_URL + SUPABASE_SERVICE_KEY → Supabase,
otherwise `settings.upload_dir`). Keys are namespaced by organization (`document_key`), so one shop's
files can never be addressed through another shop's key space.

Supabase is spoken to over its REST API with httpx (no SDK): `Authorization: Bearer <service key>`
and `apikey` headers; `POST/PUT /storage/v1/object/{bucket}/{path}` upload, `GET` download, `DELETE`
removes. Its errors become `ProviderError` (the upload/ingest can be retried), a missing object
becomes `StoredFileMissing`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import httpx

from techdocs_app.errors import IngestFailed, ProviderError
from techdocs_app.settings import Settings, get_settings

__all__ = [
    "FileStore",
    "LocalFileStore",
    "PdfCache",
    "StoredFileMissing",
    "SupabaseFileStore",
    "document_key",
    "get_file_store",
    "get_pdf_cache",
    "reset_file_store",
]


COPY_CHUNK = 1024 * 1024


class StoredFileMissing(IngestFailed):
    user_message = "The stored copy of this manual is missing. Delete it and upload the PDF again."


class FileStore(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at `path` (streamed: never read whole into memory)."""
        ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A path on local disk holding the object for the duration of the `with` block."""
        ...


def document_key(*, org_id: int, sha256: str) -> str:
    """Storage key of an uploaded manual. Content-addressed within the organization."""
    if not sha256 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("sha256 must be a lower-case hex digest")
    return f"orgs/{int(org_id)}/documents/{sha256}.pdf"


def _check_key(key: str) -> None:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid storage key {key!r}")


class LocalFileStore:
    """Files under one root directory; writes are atomic (temp file + rename)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, Path(path).open("rb") as src:
                shutil.copyfileobj(src, out, COPY_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StoredFileMissing(detail=f"missing {key}") from exc

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise StoredFileMissing(detail=f"missing {key}")
        yield path


class SupabaseFileStore:
    """Supabase Storage over its REST API (service-role key; the bucket is private)."""

    name = "supabase"

    def __init__(
        self,
        *,
        url: str,
        service_key: str,
        bucket: str,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.bucket = bucket
        self._client = httpx.Client(
            base_url=url.rstrip("/") + "/storage/v1",
            headers={"Authorization": f"Bearer {service_key}", "apikey": service_key},
            timeout=timeout_s,
            transport=transport,
        )

    def _object_path(self, key: str) -> str:
        _check_key(key)
        encoded = "/".join(quote(part, safe="") for part in key.split("/"))
        return f"/object/{quote(self.bucket, safe='')}/{encoded}"

    def _request(self, method: str, key: str, **kwargs: object) -> httpx.Response:
        try:
            return self._client.request(method, self._object_path(key), **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise ProviderError(
                "The file store could not be reached. Please try again in a moment.",
                detail=f"supabase {method} {key}: {exc!r}",
            ) from exc

    @staticmethod
    def _is_missing(resp: httpx.Response) -> bool:
        if resp.status_code == 404:
            return True
        # Supabase answers some "not found" cases with 400 and {"statusCode": "404"}.
        with contextlib.suppress(ValueError):
            body = resp.json()
            return isinstance(body, dict) and str(body.get("statusCode")) == "404"
        return False

    @staticmethod
    def _fail(resp: httpx.Response, what: str) -> ProviderError:
        return ProviderError(
            "The file store refused the request. Please try again in a moment.",
            detail=f"supabase {what}: HTTP {resp.status_code} {resp.text[:300]}",
        )

    def put(self, key: str, data: bytes) -> None:
        resp = self._request(
            "POST",
            key,
            content=data,
            headers={"Content-Type": "application/pdf", "x-upsert": "true"},
        )
        if resp.status_code >= 400:
            raise self._fail(resp, f"upload {key}")

    def put_file(self, key: str, path: Path) -> None:
        with Path(path).open("rb") as fh:
            resp = self._request(
                "POST",
                key,
                content=fh,
                headers={"Content-Type": "application/pdf", "x-upsert": "true"},
            )
        if resp.status_code >= 400:
            raise self._fail(resp, f"upload {key}")

    def download_to(self, key: str, target: Path) -> None:
        """Stream the object into `target` (never whole in memory)."""
        try:
            with self._client.stream("GET", self._object_path(key)) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    if self._is_missing(resp):
                        raise StoredFileMissing(detail=f"missing {key}")
                    raise self._fail(resp, f"download {key}")
                with target.open("wb") as out:
                    for block in resp.iter_bytes(COPY_CHUNK):
                        out.write(block)
        except httpx.HTTPError as exc:
            raise ProviderError(
                "The file store could not be reached. Please try again in a moment.",
                detail=f"supabase GET {key}: {exc!r}",
            ) from exc

    def get(self, key: str) -> bytes:
        resp = self._request("GET", key)
        if resp.status_code >= 400:
            if self._is_missing(resp):
                raise StoredFileMissing(detail=f"missing {key}")
            raise self._fail(resp, f"download {key}")
        return resp.content

    def delete(self, key: str) -> None:
        resp = self._request("DELETE", key)
        if resp.status_code >= 400 and not self._is_missing(resp):
            raise self._fail(resp, f"delete {key}")

    def exists(self, key: str) -> bool:
        resp = self._request("HEAD", key)
        if resp.status_code < 400:
            return True
        # A HEAD answer has no body to carry Supabase's "statusCode": 400 means not found here.
        if resp.status_code in (400, 404):
            return False
        raise self._fail(resp, f"head {key}")

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="techdocs-") as tmp:
            path = Path(tmp) / "document.pdf"
            self.download_to(key, path)
            yield path

    def close(self) -> None:
        self._client.close()


def build_file_store(settings: Settings) -> FileStore:
    key = settings.supabase_service_key.get_secret_value() if settings.supabase_service_key else ""
    if settings.supabase_url and key:
        return SupabaseFileStore(
            url=settings.supabase_url, service_key=key, bucket=settings.supabase_bucket
        )
    return LocalFileStore(settings.upload_dir)


@lru_cache(maxsize=4)
def _store_for(url: str | None, key: str, bucket: str, upload_dir: Path) -> FileStore:
    settings = get_settings()
    return build_file_store(settings)


def get_file_store() -> FileStore:
    """The configured store (one per configuration and process)."""
    settings = get_settings()
    key = settings.supabase_service_key.get_secret_value() if settings.supabase_service_key else ""
    return _store_for(settings.supabase_url, key, settings.supabase_bucket, settings.upload_dir)


def reset_file_store() -> None:
    """Forget cached stores (tests; forked children must not share the parent's HTTP pool)."""
    _store_for.cache_clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=reset_file_store)


class PdfCache:
    """Local copies of stored PDFs for rendering page images, when the files live remotely.

    Supabase: the first page image of a manual downloads it once (streamed to disk); later page
    images read the copy. Copies are kept up to `max_bytes` in all, least recently used evicted
    first. Storage keys carry the file's sha256, so a copy can never be stale. With the local
    store the stored file itself is read.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        _check_key(key)
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:40] + ".pdf")

    @contextlib.contextmanager
    def copy(self, store: FileStore, key: str) -> Iterator[Path]:
        if isinstance(store, LocalFileStore) or not isinstance(store, SupabaseFileStore):
            with store.local_copy(key) as path:
                yield path
            return
        path = self._path(key)
        if path.is_file():
            with contextlib.suppress(OSError):
                os.utime(path)
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".dl-", suffix=".part")
            os.close(fd)
            try:
                store.download_to(key, Path(tmp))
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            self._evict(keep=path)
        yield path

    def _evict(self, *, keep: Path) -> None:
        """Drop least recently used copies until the cache fits (an open copy stays readable)."""
        with self._lock:
            files = []
            for entry in self.directory.glob("*.pdf"):
                with contextlib.suppress(OSError):
                    st = entry.stat()
                    files.append((st.st_mtime, st.st_size, entry))
            total = sum(size for _, size, _ in files)
            for _, size, entry in sorted(files):
                if total <= self.max_bytes:
                    break
                if entry == keep:
                    continue
                with contextlib.suppress(OSError):
                    entry.unlink()
                    total -= size


@lru_cache(maxsize=4)
def _pdf_cache_for(directory: Path, max_bytes: int) -> PdfCache:
    return PdfCache(directory, max_bytes)


def get_pdf_cache() -> PdfCache:
    settings = get_settings()
    return _pdf_cache_for(settings.data_dir / "cache" / "pdf", settings.pdf_cache_mb * 1024 * 1024)
