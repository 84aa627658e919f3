"""Raw page extraction (runs in worker processes): lines with font size and weight, table
grids, and the regions only OCR can read."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pymupdf

from techdocs_app.rag.pdf.content import (
    EMPTY_PAGE_LETTERS,
    GARBLED_MIN_LETTERS,
    GARBLED_NON_ASCII_SHARE,
    MIN_OCR_IMAGE_SHARE,
    SPARSE_PAGE_LETTERS,
    BBox,
    Block,
)
from techdocs_app.rag.pdf.lines import UNREADABLE, clean_line
from techdocs_app.rag.pdf.tables import find_tables


@dataclass(slots=True)
class Line:
    text: str
    bbox: BBox
    size: float
    bold: bool
    block_no: int


@dataclass(slots=True)
class RawPage:
    """One page read from its text layer and vector graphics, before OCR and document-wide
    assembly. Plain data (pickles cheaply between processes)."""

    number: int
    width: float
    height: float
    lines: list[Line]
    tables: list[Block]
    size_hist: dict[float, int]
    ocr_regions: list[BBox] = field(default_factory=list)
    """Regions (page points) whose text only OCR can read; filled in by `run_ocr`."""
    ocr_blocks: list[Block] = field(default_factory=list)
    ocr_seconds: float = 0.0
    """Time spent rendering and recognising this page's regions (summed over regions)."""


TEXT_FLAGS = (
    pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
)


_DROP_ASCII_LETTERS = str.maketrans("", "", string.ascii_letters)


def count_letters(text: str) -> tuple[int, int]:
    """(letters, non-ASCII letters). Per-character Python loops only for non-ASCII text."""
    if text.isascii():
        return len(text) - len(text.translate(_DROP_ASCII_LETTERS)), 0
    letters = [c for c in text if c.isalpha()]
    return len(letters), sum(1 for c in letters if not c.isascii())


def _is_unreadable(c: str) -> bool:
    return UNREADABLE.match(c) is not None


def _is_garbled(text: str) -> bool:
    """Broken font encodings: replacement/private-use glyphs or mostly non-ASCII letters."""
    if text.isascii() and not UNREADABLE.search(text):
        return False  # nothing non-ASCII, nothing unreadable: the share is 0
    n, non_ascii = count_letters(text)
    bad = len(UNREADABLE.findall(text))
    total = n + bad
    return total >= GARBLED_MIN_LETTERS and (non_ascii + bad) / total > GARBLED_NON_ASCII_SHARE


_STOPWORDS = frozenset(
    "the of and to a in is for that with on as are be by or it this from at an not can which "
    "when if must should will has have was use used each all one two no".split()
)


def _reads_as_text(text: str) -> bool:
    """Cheap plausibility check for text recovered through character ids (see _text_blocks)."""
    if _is_garbled(text):
        return False
    words = re.findall(r"[A-Za-z]+", text.lower())
    if len(words) < 12:
        return bool(words) and sum(any(v in w for v in "aeiouy") for w in words) >= 0.7 * len(words)
    return sum(w in _STOPWORDS for w in words) >= 0.08 * len(words)


def _text_blocks(page: pymupdf.Page) -> tuple[list[dict], list[BBox], pymupdf.TextPage]:
    """Text blocks, and the boxes of blocks whose text layer is unreadable (to OCR).

    Some PDFs (NEETS chapter 1) use fonts without a Unicode map: MuPDF returns U+FFFD for them.
    Their character ids are often plain ASCII codes, so the page is re-read with
    TEXT_USE_CID_FOR_UNKNOWN_UNICODE and each such block is kept when it then reads as language;
    only blocks that still fail go to OCR.

    Returns the text page the kept blocks come from, so that table cells are filled from the same
    reading of the page (each text page costs a full interpretation of the page). Not with
    TEXT_COLLECT_VECTORS (which would count paths for free): it changes MuPDF's block segmentation.
    """
    textpage = page.get_textpage(flags=TEXT_FLAGS)
    blocks = [
        b for b in page.get_text("dict", textpage=textpage, sort=True)["blocks"] if b["type"] == 0
    ]
    bad = [i for i, b in enumerate(blocks) if _is_garbled(_block_text(b))]
    if not bad:
        return blocks, [], textpage
    cid_page = page.get_textpage(flags=TEXT_FLAGS | pymupdf.TEXT_USE_CID_FOR_UNKNOWN_UNICODE)
    cid = [
        b for b in page.get_text("dict", textpage=cid_page, sort=True)["blocks"] if b["type"] == 0
    ]
    by_box = {tuple(round(v) for v in b["bbox"]): b for b in cid}
    garbled: list[BBox] = []
    for i in bad:
        alt = by_box.get(tuple(round(v) for v in blocks[i]["bbox"]))
        if alt is not None and _reads_as_text(_block_text(alt)):
            blocks[i] = alt
        else:
            garbled.append(tuple(blocks[i]["bbox"]))
    garbled_set = set(garbled)
    return [b for b in blocks if tuple(b["bbox"]) not in garbled_set], garbled, cid_page


def _block_text(block: dict) -> str:
    return "".join(s["text"] for ln in block["lines"] for s in ln["spans"])


def _inside(bbox: BBox, rects: Sequence[BBox], pad: float = 1.0) -> bool:
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return any(r[0] - pad <= cx <= r[2] + pad and r[1] - pad <= cy <= r[3] + pad for r in rects)


def extract_raw(page: pymupdf.Page) -> RawPage:
    """Text lines, tables and the regions to OCR of one page; OCR itself is left to `run_ocr`."""
    rect = page.rect
    text_blocks, garbled, textpage = _text_blocks(page)
    paths = page.get_cdrawings()

    tables = []
    for table in find_tables(page, textpage, paths):
        if _is_garbled(table.text):
            garbled.append(table.bbox)  # no usable text layer: OCR the table as text
        else:
            tables.append(table)
    table_rects = [t.bbox for t in tables]
    garbled = [g for g in garbled if not _inside(g, table_rects)]

    lines: list[Line] = []
    size_hist: Counter[float] = Counter()
    page_letters = 0
    for bno, blk in enumerate(text_blocks):
        for ln in blk["lines"]:
            spans = [
                s
                for s in ln["spans"]
                if not (table_rects and _inside(tuple(s["bbox"]), table_rects))
            ]
            text = "".join(s["text"] for s in spans)
            if not text.strip():
                continue
            weights: Counter[float] = Counter()
            bold_chars = total_chars = 0
            for s in spans:
                n = len(s["text"].strip())
                if not n:
                    continue
                weights[round(s["size"] * 2) / 2] += n
                total_chars += n
                if s["flags"] & 16 or "bold" in s["font"].lower() or "black" in s["font"].lower():
                    bold_chars += n
            size = weights.most_common(1)[0][0] if weights else 0.0
            size_hist.update(weights)
            page_letters += count_letters(text)[0]
            x0 = min(s["bbox"][0] for s in spans)
            y0 = min(s["bbox"][1] for s in spans)
            x1 = max(s["bbox"][2] for s in spans)
            y1 = max(s["bbox"][3] for s in spans)
            lines.append(
                Line(
                    text=clean_line(text),
                    bbox=(x0, y0, x1, y1),
                    size=size,
                    bold=total_chars > 0 and bold_chars >= 0.8 * total_chars,
                    block_no=bno,
                )
            )
    lines = _merge_same_row(lines)
    for t in tables:
        page_letters += count_letters(t.text)[0]

    regions = list(garbled)
    if page_letters < SPARSE_PAGE_LETTERS:
        regions += _image_regions(page, lines)
        if not regions and page_letters < EMPTY_PAGE_LETTERS and (paths or page.get_images()):
            regions.append((rect.x0, rect.y0, rect.x1, rect.y1))
    return RawPage(
        number=page.number + 1,
        width=rect.width,
        height=rect.height,
        lines=lines,
        tables=tables,
        size_hist=dict(size_hist),
        ocr_regions=regions,
    )


def _merge_same_row(lines: list[Line]) -> list[Line]:
    """Pieces of one visual line (section number + title, label + value) become one line."""
    out: list[Line] = []
    for ln in lines:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.block_no == ln.block_no
            and abs(prev.bbox[1] - ln.bbox[1]) < 2.5
            and abs(prev.bbox[3] - ln.bbox[3]) < 2.5
            and ln.bbox[0] >= prev.bbox[2] - 1
        ):
            out[-1] = Line(
                text=f"{prev.text} {ln.text}",
                bbox=(
                    prev.bbox[0],
                    min(prev.bbox[1], ln.bbox[1]),
                    ln.bbox[2],
                    max(prev.bbox[3], ln.bbox[3]),
                ),
                size=max(prev.size, ln.size),
                bold=prev.bold and ln.bold,
                block_no=prev.block_no,
            )
        else:
            out.append(ln)
    return out


def _image_regions(page: pymupdf.Page, lines: list[Line]) -> list[BBox]:
    """Large images that carry no text-layer text: these hold text only OCR can read."""
    area = abs(page.rect)
    out: list[BBox] = []
    for info in page.get_image_info():
        r = pymupdf.Rect(info["bbox"]) & page.rect
        if r.is_empty or abs(r) / area < MIN_OCR_IMAGE_SHARE:
            continue
        bbox = (r.x0, r.y0, r.x1, r.y1)
        covered = sum(len(ln.text) for ln in lines if _inside(ln.bbox, [bbox], pad=0))
        if covered > 40:
            continue
        if any(_overlap(bbox, o) > 0.8 for o in out):
            continue
        out.append(bbox)
    return out


def _overlap(a: BBox, b: BBox) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])) or 1.0
    return ix * iy / small
