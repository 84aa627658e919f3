"""Line text helpers: unreadable glyphs, table-of-contents leaders, wrapped lines."""

from __future__ import annotations

import re
import unicodedata

UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ue000-\uf8ff\ufffd]")
"""Replacement and private-use glyphs and control characters: text without a usable Unicode map."""


_LEADERS = re.compile(r"(?:[ \t]*[.\u2026_\-=·]){4,}[ \t]*")


def clean_line(text: str) -> str:
    """NFKC (Ω/µ/ligature variants match what people type), collapse whitespace and
    table-of-contents leaders (each dot would be a token)."""
    if not text.isascii():  # NFKC leaves ASCII unchanged
        text = unicodedata.normalize("NFKC", text)
    text = _LEADERS.sub(" ... ", text)
    if UNREADABLE.search(text):  # stray glyphs without Unicode (a few per page)
        text = UNREADABLE.sub(" ", text)
    return re.sub(r"[ \t\u00a0]+", " ", text).strip()


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines: drop soft hyphens before a lower-case continuation, keep compound ones."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
        elif re.search(r"[A-Za-z]-$", out) and line[:1].islower():
            out = out[:-1] + line
        elif re.search(r"[A-Za-z0-9]-$", out) and (line[:1].isupper() or line[:1].isdigit()):
            out += line
        else:
            out += " " + line
    return out
