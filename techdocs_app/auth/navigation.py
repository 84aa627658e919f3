"""Where to go after signing in: back to the page that asked for it (a deep link), never off-site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

HOME_ROUTE = "/"
SIGN_IN_ROUTE = "/signin"
NEXT_PARAM = "next"
_NEVER_NEXT = ("/signin", "/signup", "/invite/")


def safe_next_path(raw: str | None) -> str:
    """`raw` when it is a path on this site (with its query), else the home page.

    Refuses absolute and scheme-relative URLs (`https://x`, `//x`, `/\\x`), control characters,
    and the sign-in pages themselves (no loops).
    """
    if not raw or len(raw) > 2000 or not raw.startswith("/"):
        return HOME_ROUTE
    if raw.startswith(("//", "/\\")) or any(ord(c) < 32 or c == "\\" for c in raw):
        return HOME_ROUTE
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc:
        return HOME_ROUTE
    if parts.path == SIGN_IN_ROUTE or parts.path.startswith(_NEVER_NEXT):
        return HOME_ROUTE
    return raw


def sign_in_url(path: str, query: str = "") -> str:
    """The sign-in page that returns to `path?query` afterwards (home needs no `next`)."""
    target = path + (f"?{query}" if query else "")
    if safe_next_path(target) == HOME_ROUTE:
        return SIGN_IN_ROUTE
    return f"{SIGN_IN_ROUTE}?{NEXT_PARAM}={quote(target, safe='/')}"
