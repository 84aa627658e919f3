"""Production protections on the running app (issue 10 §1, §6), over plain HTTP: no browser.

- Every kind of response (the prerendered page, a built script, a static asset, the API's JSON,
  a 404, the upload endpoint's refusal) carries the Content-Security-Policy and the other security
  headers. The unit tests check the middleware on a toy app; this checks it is wired around the
  app Reflex actually serves.
- CORS: Reflex allows `*` with credentials by default. Here a foreign origin gets no
  `Access-Control-Allow-Origin` on a simple request or a preflight, and the app's own origin
  (`APP_URL`) does.
- The websocket (`/_event`) refuses to upgrade for a foreign `Origin` and upgrades for its own.
"""

from __future__ import annotations

import re
import socket
from base64 import b64encode
from os import urandom
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = pytest.mark.e2e

FOREIGN = "https://evil.example"


def _directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def _assert_protected(response: httpx.Response, what: str) -> None:
    headers = response.headers
    assert "content-security-policy" in headers, (what, dict(headers))
    csp = _directives(headers["content-security-policy"])
    assert csp["script-src"][0] == "'self'", (what, csp["script-src"])
    for weak in ("'unsafe-inline'", "*", "http:", "https:", "data:", "blob:"):
        assert weak not in csp["script-src"], (what, weak)
    assert csp["script-src-attr"] == ["'none'"], what
    assert csp["img-src"] == ["'self'", "data:", "blob:"], what
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"], what
    assert headers["x-content-type-options"] == "nosniff", what
    assert headers["referrer-policy"] == "same-origin", what
    assert headers["x-frame-options"] == "DENY", what
    # Not production (plain-http APP_URL on loopback): no HSTS, which would pin the test host.
    assert "strict-transport-security" not in headers, what


def test_every_response_of_the_running_app_carries_the_security_headers(app_url: str) -> None:
    with httpx.Client(base_url=app_url, timeout=30, follow_redirects=False) as client:
        redirect = client.get("/signin")
        if redirect.is_redirect:  # the static server adds the trailing slash
            _assert_protected(redirect, "redirect")
        page = client.get("/signin/") if redirect.is_redirect else redirect
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        _assert_protected(page, "page")
        # The page's own inline scripts are allowed by hash, so the built page works.
        assert any(
            s.startswith("'sha256-")
            for s in _directives(page.headers["content-security-policy"])["script-src"]
        )
        script = re.search(r'<script[^>]+src="(/[^"]+\.js)"', page.text)
        assert script, "the page loads no script of its own"
        asset = client.get(script.group(1))
        assert asset.status_code == 200
        _assert_protected(asset, "script")
        _assert_protected(client.get("/favicon.ico"), "static asset")
        health = client.get("/api/health")
        assert health.status_code == 200
        _assert_protected(health, "api")
        _assert_protected(client.get("/api/no-such-route"), "404")
        refused = client.post("/_upload", content=b"x" * 10)
        assert refused.status_code == 401
        _assert_protected(refused, "upload refusal")


def test_cors_answers_only_the_apps_own_origin(app_url: str) -> None:
    own = f"{urlsplit(app_url).scheme}://{urlsplit(app_url).netloc}"
    with httpx.Client(base_url=app_url, timeout=30) as client:
        for origin, allowed in ((FOREIGN, False), ("null", False), (own, True)):
            simple = client.get("/api/health", headers={"Origin": origin})
            assert simple.status_code == 200
            preflight = client.options(
                "/api/v1/documents",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type",
                },
            )
            for response in (simple, preflight):
                allow = response.headers.get("access-control-allow-origin")
                if allowed:
                    assert allow == own, (origin, dict(response.headers))
                else:
                    assert allow in (None, ""), (origin, dict(response.headers))
                    assert allow != "*"
            if not allowed:
                assert preflight.status_code >= 400, dict(preflight.headers)


def _websocket_upgrade_status(app_url: str, origin: str) -> int:
    parts = urlsplit(app_url)
    assert parts.hostname and parts.port
    request = (
        "GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {b64encode(urandom(16)).decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        f"Origin: {origin}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n" not in head:
            data = sock.recv(4096)
            if not data:
                break
            head += data
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    assert match, head[:200]
    return int(match.group(1))


def test_the_websocket_refuses_a_foreign_origin(app_url: str) -> None:
    own = f"{urlsplit(app_url).scheme}://{urlsplit(app_url).netloc}"
    assert _websocket_upgrade_status(app_url, own) == 101
    assert _websocket_upgrade_status(app_url, FOREIGN) != 101
    assert _websocket_upgrade_status(app_url, "null") != 101
