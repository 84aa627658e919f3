"""Security headers on every HTTP response, with a strict Content-Security-Policy.

The policy allows scripts only from the app's own origin plus the inline scripts of the built
pages, each by its sha256: Reflex's production build (React Router prerendering) writes a handful
of small inline scripts into every page (theme, scroll restoration, hydration data, the module
entry). They are build output, identical for every visitor, so their hashes are read once from
the built HTML files (`inline_script_hashes`). No `'unsafe-inline'` for scripts and
`script-src-attr 'none'`: markup that slips into a page cannot run (no `<script>`, no `onerror=`),
and nothing is loaded from another host.

`'unsafe-eval'` stays allowed: Reflex's client runs the code of the events its own server sends
over the authenticated websocket with `eval` (every `rx.toast`, `rx.clear_selected_files`,
`rx.call_script` returned by an event handler; measured: without it no toast appears). That code
is written by the server, with any data in it (a file name in a toast) encoded as a JSON string
literal, so no text from a manual can become code that way; markup in a page never reaches eval.
The app's own code sends no script built from data (the page preview scrolls with a static file,
`assets/page_preview.js`). Images
only from the app itself (`data:` and `blob:` for icons and previews): a manual or an answer cannot
make the browser fetch a remote image (which would leak the question to that host). Styles allow
inline (Radix and Emotion write `<style>` tags at run time); styles cannot run code.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_INLINE_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
_SRC_ATTR = re.compile(rb"\bsrc\s*=", re.I)

HSTS = "max-age=63072000; includeSubDomains"
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)


def inline_script_hashes(static_dir: Path) -> list[str]:
    """`'sha256-…'` sources for every inline script of the built HTML pages under `static_dir`."""
    hashes: set[str] = set()
    if not static_dir.is_dir():
        return []
    for page in static_dir.rglob("*.html"):
        try:
            html = page.read_bytes()
        except OSError:
            continue
        for match in _INLINE_SCRIPT.finditer(html):
            attrs, body = match.group(1), match.group(2)
            if _SRC_ATTR.search(attrs):
                continue
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            hashes.add(f"'sha256-{digest}'")
    return sorted(hashes)


def websocket_sources(origins: Iterable[str]) -> list[str]:
    """`ws(s)://host` for each allowed origin (older browsers do not count them as 'self')."""
    out: list[str] = []
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme in ("http", "https") and parts.netloc:
            out.append(f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}")
    return out


def content_security_policy(
    script_hashes: Iterable[str],
    *,
    connect: Iterable[str] = (),
    production: bool = False,
    vendor: Mapping[str, Iterable[str]] | None = None,
) -> str:
    """`vendor`: directive -> extra sources a configured vendor's own page needs (Clerk's
    sign-in when Clerk mode is on: `auth.modes.clerk_csp_sources`); nothing by default."""
    directives = [
        "default-src 'self'",
        "script-src " + " ".join(["'self'", "'unsafe-eval'", *script_hashes]),
        "script-src-attr 'none'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src " + " ".join(["'self'", *connect]),
        "media-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "child-src 'none'",
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    for name, sources in (vendor or {}).items():
        extra = " ".join(sources)
        for i, directive in enumerate(directives):
            if directive.split(" ", 1)[0] == name:
                kept = (
                    directive.replace(" 'none'", "")
                    if name in ("frame-src", "child-src")
                    else directive
                )
                directives[i] = f"{kept} {extra}"
    if production:
        directives.append("upgrade-insecure-requests")
    return "; ".join(directives)


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response.

    `static_dir` is the built frontend (`.web/build/client`); its inline scripts' hashes are read
    on the first request and again whenever a page of the build changes.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        static_dir: Path,
        origins: Iterable[str],
        production: bool,
        vendor: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.app = app
        self.vendor = vendor
        self.static_dir = static_dir
        self.production = production
        self.connect = websocket_sources(origins)
        self._policy: str | None = None
        self._stamp: float | None = None
        self._lock = threading.Lock()

    def _build_stamp(self) -> float:
        try:
            return (self.static_dir / "index.html").stat().st_mtime
        except OSError:
            return 0.0

    def policy(self) -> str:
        stamp = self._build_stamp()
        if self._policy is None or stamp != self._stamp:
            with self._lock:
                if self._policy is None or stamp != self._stamp:
                    hashes = inline_script_hashes(self.static_dir)
                    if not hashes:
                        log.warning(
                            "no built pages under %s: the CSP allows no inline script",
                            self.static_dir,
                        )
                    self._policy = content_security_policy(
                        hashes,
                        connect=self.connect,
                        production=self.production,
                        vendor=self.vendor,
                    )
                    self._stamp = stamp
        assert self._policy is not None
        return self._policy

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [
            (b"content-security-policy", self.policy().encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", PERMISSIONS_POLICY.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
        if self.production:
            out.append((b"strict-transport-security", HSTS.encode()))
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self.headers()
        names = {name for name, _ in ours}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers") or () if k.lower() not in names]
                message = {**message, "headers": [*kept, *ours]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
