"""Who is on the other end of a request: the client address and the session cookie."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import cookie_parser

SESSION_COOKIE = "techdocs_session"
"""The browser cookie holding the session token (the Reflex state and `api` use the same)."""


def header(scope: Mapping[str, Any], name: bytes) -> str:
    """The first value of a request header (latin-1, as HTTP defines it), or ''."""
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def client_address(scope: Mapping[str, Any], *, trusted_proxy_hops: int) -> str:
    """The client's address: the connection's peer, or, behind `trusted_proxy_hops` reverse
    proxies that each append to `X-Forwarded-For`, the address the outermost one saw.

    The same rule as Reflex's websocket (`trusted_proxy_hops` in rxconfig), so the upload route
    and the sign-in form agree on who the client is. With 0 the header is ignored: anyone can
    write it.
    """
    peer = scope.get("client")
    address = peer[0] if peer else "unknown"
    if trusted_proxy_hops > 0:
        hops = [ip.strip() for ip in header(scope, b"x-forwarded-for").split(",") if ip.strip()]
        if len(hops) >= trusted_proxy_hops:
            address = hops[-trusted_proxy_hops]
    return address


def session_token(scope: Mapping[str, Any]) -> str | None:
    """The session token from the request's cookies, if any."""
    raw = header(scope, b"cookie")
    return (cookie_parser(raw).get(SESSION_COOKIE) or None) if raw else None
