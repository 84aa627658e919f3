"""`POST /_upload`: who may send a body, and how much of it.

Reflex's upload route reads the request body as soon as it is called. This middleware runs
first and answers without reading a byte of the body when:

- there is no valid session cookie (401), or its member may not manage the library (403): only
  owners and admins upload manuals;
- the declared `Content-Length` is above what one upload may carry (413).

Past those checks the body goes through, counted as it streams: once it exceeds the limit the
route sees the client as gone (it stops reading and drops what it has) and the client gets 413.
The Library's upload handler (`state/library.py`) streams each file to a temporary file and stops
at `MAX_UPLOAD_MB` per file with a message on the page; this is the backstop for clients that are
not the Library page.

`BodyLimit` is the same byte count without the session check, for routes that read their
body their own way: the REST API's `POST /api/v1/documents` (a body sent without
`Content-Length`, chunked, would otherwise be read to its end and spooled to disk by the
multipart parser, however large) and every other route under `/api/` (JSON and webhooks, read
whole into memory before their own size checks) at `API_MAX_BODY_BYTES`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import DENIED_MESSAGES, Action, allowed
from techdocs_app.web.client import header, session_token
from techdocs_app.web.headers import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

UPLOAD_PATH = "/_upload"
MULTIPART_OVERHEAD = 1024 * 1024
"""Room for the multipart framing and the small form fields around the files."""
API_MAX_BODY_BYTES = 1024 * 1024
"""Any other request body under `/api/` (REST JSON: 64 KB; a webhook: 1 MB at most)."""


class UploadGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        resolve_principal: Callable[[str | None], Principal | None],
        path: str = UPLOAD_PATH,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.resolve_principal = resolve_principal
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or scope.get("path", "").rstrip("/") != self.path
        ):
            await self.app(scope, receive, send)
            return

        principal = await asyncio.to_thread(self.resolve_principal, session_token(scope))
        if principal is None:
            await _refuse(send, 401, "Sign in to upload manuals.")
            return
        if not allowed(principal.role, Action.MANAGE_DOCUMENTS):
            log.info(
                "upload refused org_id=%s user_id=%s: role", principal.org_id, principal.user_id
            )
            await _refuse(send, 403, DENIED_MESSAGES[Action.MANAGE_DOCUMENTS])
            return
        await _limited(
            self.app,
            scope,
            receive,
            send,
            max_body_bytes=self.max_body_bytes,
            refusal=_detail(_too_large(self.max_body_bytes)),
            who=f"org_id={principal.org_id} user_id={principal.user_id}",
        )


class BodyLimit:
    """Request bodies to `path` (or, with `prefix=True`, to every path under it but those in
    `exclude`) stop at `max_body_bytes`, declared or streamed; the client gets 413 with `refusal`
    (a JSON body) and the route sees a client that went away."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        max_body_bytes: int,
        refusal: bytes,
        prefix: bool = False,
        exclude: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.path = path if prefix else path.rstrip("/")
        self.prefix = prefix
        self.exclude = {e.rstrip("/") for e in exclude}
        self.max_body_bytes = max_body_bytes
        self.refusal = refusal

    def applies(self, path: str) -> bool:
        if not self.prefix:
            return path.rstrip("/") == self.path
        return path.startswith(self.path) and path.rstrip("/") not in self.exclude

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        await _limited(
            self.app,
            scope,
            receive,
            send,
            max_body_bytes=self.max_body_bytes,
            refusal=self.refusal,
            who=f"path={scope.get('path', '')[:200]!r}",
        )


async def _counted(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    max_body_bytes: int,
    refusal: bytes,
    who: str,
) -> None:
    """Run `app` with its body counted as it streams; past `max_body_bytes` the app sees the
    client disconnect and the client gets 413 with `refusal`, once."""
    received = 0
    over = False
    responded = False

    async def counted_receive() -> Message:
        nonlocal received, over
        if over:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_body_bytes:
                over = True
                log.info("upload cut off %s after %s bytes", who, received)
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(message: Message) -> None:
        nonlocal responded
        if not over:
            await send(message)
            return
        # The route gave up on the body: the client hears why, once.
        if not responded:
            responded = True
            await _send_json(send, 413, refusal)

    try:
        await app(scope, counted_receive, guarded_send)
    except Exception:
        if not over:
            raise
        log.debug("the route failed on its cut-off body", exc_info=True)
    if over and not responded:
        await _send_json(send, 413, refusal)


async def _limited(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    max_body_bytes: int,
    refusal: bytes,
    who: str,
) -> None:
    """413 with `refusal` before reading a byte when the declared `Content-Length` is too large
    (or not a number); otherwise the body goes to `app`, counted as it streams (`_counted`)."""
    declared = header(scope, b"content-length")
    if declared and (not declared.isdigit() or int(declared) > max_body_bytes):
        await _send_json(send, 413, refusal)
        return
    await _counted(
        app, scope, receive, send, max_body_bytes=max_body_bytes, refusal=refusal, who=who
    )


def _too_large(limit: int) -> str:
    return (
        f"This upload is larger than {limit // (1024 * 1024)} MB. "
        "Upload fewer or smaller PDFs at a time."
    )


def _detail(message: str) -> bytes:
    return json.dumps({"detail": message}).encode()


async def _refuse(send: Send, status: int, detail: str) -> None:
    await _send_json(send, status, _detail(detail))


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
