"""Headings of a real (synthetic) PDF through extraction and chunking: a chapter that follows a
few short lines ending the previous chapter is chunked under its own heading."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from techdocs_app.rag.chunking import chunk_document
from techdocs_app.rag.pdf import extract_document

BODY = (
    "The junction temperature depends on the ambient temperature and on the power the device "
    "dissipates in its internal logic and in its outputs at low level."
)
SCHEME_LINES = [
    "Example: MCU 103 R C T 6 xxx",
    "Device family MCU = 32-bit microcontroller",
    "Pin count R = 64 pins, V = 100 pins, Z = 144 pins",
    "Flash memory size C = 256 Kbytes, D = 384 Kbytes, E = 512 Kbytes of Flash memory",
    "Package H = BGA, T = LQFP, Y = WLCSP64",
    "Temperature range 6 = industrial temperature range, -40 to 85 degrees C",
    "Temperature range 7 = industrial temperature range, -40 to 105 degrees C",
    "Options xxx = programmed parts, TR = tape and reel",
    "For a list of available options such as speed and package, or for further information on",
    "any aspect of this device, please contact your nearest sales office for the ordering codes.",
]


def _lines(page: pymupdf.Page, y: float, lines: list[str], size: float = 10) -> float:
    for line in lines:
        page.insert_text((72, y), line, fontsize=size, fontname="helv")
        y += size * 1.5
    return y


def _datasheet(path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 110), "6 Package characteristics", fontsize=16, fontname="hebo")
    y = 140.0
    for _ in range(6):
        y = _lines(page, y, [BODY[:80], BODY[80:]]) + 6
    page = doc.new_page(width=595, height=842)
    y = _lines(page, 110, [BODY[:80], BODY[80:]])
    # A figure: its axis title reads as a small heading, its tick labels as short text.
    page.insert_text((72, y + 30), "PD (mW)", fontsize=12, fontname="hebo")
    _lines(page, y + 50, ["700", "600", "500", "400", "65 75 85 95 105 115"])
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 110), "7 Part numbering", fontsize=16, fontname="hebo")
    page.insert_text((72, 140), "Table 74. Ordering information scheme", fontsize=10)
    _lines(page, 160, SCHEME_LINES)
    doc.save(path)
    doc.close()


def test_a_chapter_after_a_figure_keeps_its_own_heading(tmp_path: Path) -> None:
    path = tmp_path / "datasheet.pdf"
    _datasheet(path)
    pages = extract_document(path)
    headings = [b.text for p in pages for b in p.blocks if b.kind == "heading"]
    assert "7 Part numbering" in headings and "PD (mW)" in headings
    chunks = chunk_document(pages, title="MCU datasheet")
    scheme = [c for c in chunks if "Ordering information scheme" in c.content]
    assert scheme, "the ordering scheme was not chunked"
    assert all(c.section_path == ["7 Part numbering"] for c in scheme)
    assert all(c.page_start == 3 for c in scheme)
    # The figure's lines stay under the chapter they end.
    axis = [c for c in chunks if "65 75 85 95 105 115" in c.content]
    assert axis and all(c.section_path[0] == "6 Package characteristics" for c in axis)
