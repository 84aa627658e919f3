"""Page content types and the extraction tunables (measured on the eval corpus)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from techdocs_app.errors import IngestFailed

BlockKind = Literal["heading", "text", "table"]
BBox = tuple[float, float, float, float]

GARBLED_NON_ASCII_SHARE = 0.20
"""A block whose letters are more than this share non-ASCII is treated as a broken text layer."""
GARBLED_MIN_LETTERS = 20
SPARSE_PAGE_LETTERS = 150
"""Pages with fewer letters than this get their large text-free images OCR'd."""
EMPTY_PAGE_LETTERS = 20
"""Pages with fewer letters than this (and some vector graphics) are OCR'd as a whole."""
MIN_OCR_IMAGE_SHARE = 0.05
OCR_DPI = 150
OCR_MAX_PIXELS = 1_200_000
OCR_PROGRAM_MIN_PIXELS = 120_000
"""Smaller regions are read by the OCR linked into PyMuPDF: no process start-up (~0.3 s)."""
MAX_TABLE_PATHS = 5000
"""More vector paths than this is artwork (PCB exports, drawings), not a table."""
PARALLEL_MIN_PAGES = 24
PAGES_PER_TASK = 8


OCR_TIMEOUT_S = 120
"""One region that takes longer than this is skipped (logged), not the whole document."""


class OcrUnavailable(IngestFailed):
    user_message = (
        "This manual has scanned pages, but text recognition (OCR) is not installed on the server. "
        "Ask your administrator to install tesseract-ocr with English data, then re-process it."
    )


@dataclass(slots=True)
class Block:
    kind: BlockKind
    text: str
    level: int = 0
    bbox: BBox = (0.0, 0.0, 0.0, 0.0)
    rows: list[list[str]] | None = None
    size: float = 0.0
    """Dominant font size (points); 0 for tables and OCR text."""
    caption: str = ""
    """For tables: a title row spanning the whole table (kept out of `rows`)."""


@dataclass(slots=True)
class PageContent:
    number: int
    width: float
    height: float
    blocks: list[Block] = field(default_factory=list)
    ocr: bool = False
    ocr_seconds: float = 0.0


@dataclass(slots=True)
class PdfInfo:
    pages: int
    encrypted: bool
    title: str | None
