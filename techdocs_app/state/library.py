"""Library page state: the organization's manuals (filled by the library service later)."""

from __future__ import annotations

import reflex as rx


class LibraryState(rx.State):
    error: str = ""
    document_count: int = 0
