"""Security headers and CSP (issue 10 §1, §6), the upload guard (§2) and the client address, as
plain ASGI middleware around small Starlette apps (no server, nothing external)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from techdocs_app.auth import Principal
from techdocs_app.web.client import client_address, session_token
from techdocs_app.web.headers import SecurityHeaders, content_security_policy, inline_script_hashes
from techdocs_app.web.upload_guard import BodyLimit, UploadGuard

PAGE = b"""<!DOCTYPE html><html><head><script>window.theme = "light";</script>
<script type="module" async="">import "/assets/entry.js";</script>
<script src="/assets/app.js"></script></head><body><script>$RC("B:1","S:1")</script></body></html>"""


def _sha(text: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode() + "'"


def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


def test_inline_scripts_of_the_build_are_allowed_by_hash_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "index.html").write_bytes(PAGE.replace(b"light", b"dark"))
    hashes = inline_script_hashes(tmp_path)
    assert _sha(b'window.theme = "light";') in hashes
    assert _sha(b'window.theme = "dark";') in hashes
    assert _sha(b'import "/assets/entry.js";') in hashes
    assert _sha(b'$RC("B:1","S:1")') in hashes
    assert len(hashes) == 4  # the external script is allowed by 'self', not by a hash

    policy = content_security_policy(hashes, connect=["ws://127.0.0.1:3000"])
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    script_src = directives["script-src"].split()
    assert script_src[:2] == ["'self'", "'unsafe-eval'"] and set(script_src[2:]) == set(hashes)
    for weak in ("'unsafe-inline'", "'unsafe-hashes'", "*", "http:", "https:", "data:", "blob:"):
        assert weak not in script_src
    assert directives["script-src-attr"] == "'none'"
    assert directives["img-src"] == "'self' data: blob:"  # no remote images
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert directives["connect-src"] == "'self' ws://127.0.0.1:3000"


def test_every_response_carries_the_headers_and_hsts_only_in_production(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_bytes(PAGE)
    inner = Starlette(routes=[Route("/", _hello), Route("/api/x", _hello)])
    dev = TestClient(
        SecurityHeaders(inner, static_dir=tmp_path, origins=["http://a:1"], production=False)
    )
    for path in ("/", "/api/x", "/missing"):
        response = dev.get(path)
        assert (
            "script-src 'self' 'unsafe-eval' 'sha256-"
            in response.headers["content-security-policy"]
        )
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in response.headers
    prod = TestClient(
        SecurityHeaders(inner, static_dir=tmp_path, origins=["https://a"], production=True)
    )
    response = prod.get("/")
    assert response.headers["strict-transport-security"].startswith("max-age=63072000")
    assert "upgrade-insecure-requests" in response.headers["content-security-policy"]
    assert "wss://a" in response.headers["content-security-policy"]


def test_a_rebuilt_frontend_gets_its_new_hashes(tmp_path: Path) -> None:
    import os

    index = tmp_path / "index.html"
    index.write_bytes(PAGE)
    middleware = SecurityHeaders(
        Starlette(routes=[Route("/", _hello)]), static_dir=tmp_path, origins=[], production=False
    )
    before = middleware.policy()
    index.write_bytes(PAGE.replace(b"light", b"blue"))
    os.utime(index, (index.stat().st_atime, index.stat().st_mtime + 10))
    after = middleware.policy()
    assert _sha(b'window.theme = "blue";') in after and after != before


def test_client_address_trusts_forwarded_for_only_behind_configured_proxies() -> None:
    scope = {
        "type": "http",
        "client": ("10.0.0.5", 5555),
        "headers": [(b"x-forwarded-for", b"6.6.6.6, 198.51.100.9")],
    }
    assert client_address(scope, trusted_proxy_hops=0) == "10.0.0.5"
    assert client_address(scope, trusted_proxy_hops=1) == "198.51.100.9"
    assert client_address(scope, trusted_proxy_hops=2) == "6.6.6.6"
    assert client_address(scope, trusted_proxy_hops=3) == "10.0.0.5"


def test_session_token_from_cookies() -> None:
    scope = {"headers": [(b"cookie", b"a=1; techdocs_session=tok-EN_1; b=2")]}
    assert session_token(scope) == "tok-EN_1"
    assert session_token({"headers": []}) is None


OWNER = Principal(user_id=1, org_id=7, role="owner", email="o@x.example", org_name="X")
MEMBER = Principal(user_id=2, org_id=7, role="member", email="m@x.example", org_name="X")


class _Recorder:
    """The guarded app: records how much body it read."""

    def __init__(self) -> None:
        self.read = 0
        self.called = False

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        self.called = True
        request = Request(scope, receive)
        try:
            async for chunk in request.stream():
                self.read += len(chunk)
        except ClientDisconnect:  # as Reflex's upload route does
            await Response()(scope, receive, send)
            return
        await JSONResponse({"read": self.read})(scope, receive, send)


def _guard(inner: _Recorder, limit: int = 1000) -> TestClient:
    sessions = {"owner-token": OWNER, "member-token": MEMBER}
    return TestClient(
        UploadGuard(inner, max_body_bytes=limit, resolve_principal=lambda t: sessions.get(t or ""))
    )


@pytest.mark.parametrize(
    ("cookie", "status", "message"),
    [
        (None, 401, "Sign in to upload manuals."),
        ("member-token", 403, "Only the shop's owner or an admin can manage the library."),
        ("stolen-or-expired", 401, "Sign in to upload manuals."),
    ],
)
def test_upload_refused_before_the_body_is_read(cookie, status, message) -> None:  # noqa: ANN001
    inner = _Recorder()
    client = _guard(inner)
    if cookie:
        client.cookies.set("techdocs_session", cookie)
    response = client.post("/_upload", content=b"x" * 500)
    assert response.status_code == status
    assert response.json() == {"detail": message}
    assert not inner.called and inner.read == 0


def test_upload_over_the_declared_or_streamed_limit_is_cut_off() -> None:
    inner = _Recorder()
    client = _guard(inner, limit=1000)
    client.cookies.set("techdocs_session", "owner-token")
    declared = client.post("/_upload", content=b"x" * 5000)
    assert declared.status_code == 413 and "larger than" in declared.json()["detail"]
    assert not inner.called

    def chunks():  # no Content-Length: chunked transfer
        for _ in range(50):
            yield b"y" * 100

    streamed = client.post("/_upload", content=chunks())
    assert streamed.status_code == 413
    assert inner.read <= 1000

    within = client.post("/_upload", content=b"z" * 900)
    assert within.status_code == 200 and within.json() == {"read": 900}
    assert client.get("/_upload/other").status_code != 401  # only POST /_upload is guarded


class _FormReader:
    """A route that parses a multipart form as the REST upload does (files spooled by
    Starlette) and fails on a client that went away."""

    def __init__(self) -> None:
        self.read = 0

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        async def counting() -> dict:
            message = await receive()
            self.read += len(message.get("body", b""))
            return message

        request = Request(scope, counting)
        form = await request.form()  # raises ClientDisconnect when cut off
        await form.close()
        await JSONResponse({"read": self.read})(scope, receive, send)


def test_rest_upload_body_stops_at_the_limit_even_when_chunked() -> None:
    refusal = b'{"error": {"code": "file_too_large", "message": "too large"}}'
    inner = _FormReader()
    client = TestClient(
        BodyLimit(inner, path="/api/v1/documents", max_body_bytes=10_000, refusal=refusal),
        raise_server_exceptions=True,
    )
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    content_type = {"content-type": f"multipart/form-data; boundary={boundary}"}

    def chunked(n: int):  # noqa: ANN202 - no Content-Length: nothing to refuse on the headers
        yield head
        for _ in range(n):
            yield b"%" * 1000
        yield tail

    cut = client.post("/api/v1/documents", content=chunked(500), headers=content_type)
    assert cut.status_code == 413 and cut.json()["error"]["code"] == "file_too_large"
    assert inner.read <= 10_000 + 1000  # stopped within one chunk of the limit, not at 500 kB

    declared = client.post("/api/v1/documents", content=b"x" * 20_000, headers=content_type)
    assert declared.status_code == 413 and declared.content == refusal

    inner.read = 0
    within = client.post("/api/v1/documents", content=chunked(5), headers=content_type)
    assert within.status_code == 200 and within.json()["read"] == len(head) + 5000 + len(tail)
    # Other routes and methods are not counted.
    inner.read = 0
    other = client.post("/api/v1/documents/7/retry", content=chunked(50), headers=content_type)
    assert other.status_code == 200 and other.json()["read"] > 10_000


def test_every_other_api_body_stops_at_its_small_limit() -> None:
    refusal = b'{"error": {"code": "request_too_large", "message": "too large"}}'
    inner = _Recorder()
    client = TestClient(
        BodyLimit(
            inner,
            path="/api/",
            prefix=True,
            exclude=["/api/v1/documents"],
            max_body_bytes=1000,
            refusal=refusal,
        )
    )

    def chunks():  # noqa: ANN202
        for _ in range(100):
            yield b"{" * 100

    for path in ("/api/v1/query", "/api/webhooks/clerk", "/api/v1/conversations/3"):
        inner.read = 0
        cut = client.post(path, content=chunks())
        assert cut.status_code == 413 and cut.content == refusal, path
        assert inner.read <= 1000
        assert client.put(path, content=b"x" * 5000).status_code == 413  # declared
    inner.read = 0
    assert client.post("/api/v1/query", content=b"{}").json() == {"read": 2}
    for other in ("/api/v1/documents", "/_upload"):  # limited elsewhere, not here
        inner.read = 0
        assert client.post(other, content=chunks()).json() == {"read": 10_000}
