"""ASGI middleware: a request id for every HTTP request, in the logs and the response.

An incoming `X-Request-ID` (from a proxy or load balancer) is kept when it is short and plain;
otherwise a new one is made. It is bound to the log context for the request's whole life and sent
back in the `X-Request-ID` response header. Pure ASGI (no BaseHTTPMiddleware), so streaming
responses (SSE) and disconnects pass through untouched; websockets pass through unchanged.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from techdocs_app.observability.logs import log_context

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER, b"")
        request_id = incoming.decode() if _SAFE_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with log_context(request_id=request_id, org_id=None, user_id=None):
            await self.app(scope, receive, send_with_id)
