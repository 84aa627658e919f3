"""Session-authenticated downloads on the app's port: the organization export zip.

`GET /api/organization/export.zip` builds the export (`organization_export`) for the signed-in
owner (the same session cookie as the pages; the organization comes only from it) into a
temporary file and streams it as an attachment; the file is removed once sent. Another role gets
403 with the permission table's message, no session 401.

Not a `FileResponse` with a clean-up task: under Granian, Starlette hands the file over by path
(`http.response.pathsend`) and returns, the clean-up task deletes the file, and Granian, reading
it afterwards, answered its own bare 404 to some downloads. The stream reads the file itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, require
from techdocs_app.auth.sessions import principal_from_session
from techdocs_app.errors import PermissionDenied, TechDocsError
from techdocs_app.observability.logs import bind
from techdocs_app.organization_export import export_filename, export_to_path

log = logging.getLogger(__name__)

EXPORT_PATH = "/api/organization/export.zip"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _build(principal: Principal) -> Path:
    fd, name = tempfile.mkstemp(prefix="techdocs-export-", suffix=".zip")
    os.close(fd)
    path = Path(name)
    try:
        export_to_path(principal, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


CHUNK_BYTES = 256 * 1024
"""Read size of the stream (the zip can hold every manual of the shop)."""


async def _stream_then_remove(path: Path) -> AsyncIterator[bytes]:
    """The file's bytes, then the file is gone (also when the client leaves half-way)."""
    try:
        with path.open("rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK_BYTES):
                yield chunk
    finally:
        _remove(path)


def organization_export_route(session_cookie: str) -> Callable[[Request], Awaitable[Response]]:
    """The route's handler; `session_cookie` is the name of the browser's session cookie."""

    async def organization_export(request: Request) -> Response:
        return await _export(request, request.cookies.get(session_cookie))

    return organization_export


async def _export(request: Request, token: str | None) -> Response:
    principal = await asyncio.to_thread(principal_from_session, token)
    if principal is None:
        return _error(401, "unauthorized", "Sign in to download your organization's data.")
    bind(org_id=principal.org_id, user_id=principal.user_id)
    try:
        require(principal, Action.EXPORT_ORGANIZATION)
        path = await asyncio.to_thread(_build, principal)
    except PermissionDenied as exc:
        return _error(403, "forbidden", exc.user_message)
    except TechDocsError as exc:
        log.warning("export failed: %s", type(exc).__name__)
        return _error(400, "export_failed", exc.user_message)
    return StreamingResponse(
        _stream_then_remove(path),
        media_type="application/zip",
        headers={
            "Content-Length": str(path.stat().st_size),
            "Content-Disposition": f'attachment; filename="{export_filename(principal)}"',
            "Cache-Control": "no-store",
        },
    )
