"""After sign-in: back to the deep link, never to another site."""

from __future__ import annotations

import pytest

from techdocs_app.auth.navigation import safe_next_path, sign_in_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/library", "/library"),
        ("/library?filter=bosch", "/library?filter=bosch"),
        ("/team", "/team"),
        (None, "/"),
        ("", "/"),
        ("library", "/"),
        ("https://evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/\tevil", "/"),
        ("/signin", "/"),
        ("/signin?next=/library", "/"),
        ("/signup", "/"),
        ("/invite/abc", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_safe_next_path(raw: str | None, expected: str) -> None:
    assert safe_next_path(raw) == expected


def test_sign_in_url_carries_the_page_back() -> None:
    assert sign_in_url("/library") == "/signin?next=/library"
    assert sign_in_url("/library", "filter=a b") == "/signin?next=/library%3Ffilter%3Da%20b"
    assert sign_in_url("/") == "/signin"
    assert sign_in_url("//evil.example") == "/signin"
