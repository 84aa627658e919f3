"""Text assembly: headings judged over the whole document, running headers dropped, pages
turned into blocks."""

from __future__ import annotations

import re
from collections import Counter

from techdocs_app.rag.pdf.content import BBox, Block, BlockKind, PageContent
from techdocs_app.rag.pdf.lines import join_lines
from techdocs_app.rag.pdf.raw import Line, RawPage, count_letters

_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+[A-Za-z]")
_CAPTION = re.compile(r"^(table|figure|fig\.)\s*[0-9A-Z]+(?:[-.][0-9]+)*\b", re.I)
_CHAPTER = re.compile(r"^(chapter|section|part|annex|appendix)\s+([0-9]+|[A-Z]|[IVX]+)\b", re.I)


def _body_size(hist: Counter[float] | dict[float, int]) -> float:
    if not hist:
        return 10.0
    return max(hist.items(), key=lambda kv: (kv[1], -kv[0]))[0]


def _heading_candidate(line: Line, body: float) -> bool:
    text = line.text
    if len(text) > 120 or len(text.split()) > 14 or count_letters(text)[0] < 3:
        return False
    if text.endswith((".", ",", ";")) and not _NUMBERED.match(text):
        return False
    if _CAPTION.match(text):
        return False
    if _CHAPTER.match(text) and (line.bold or line.size >= body * 1.1):
        return True
    if line.size >= body * 1.2:
        return True
    return (
        line.bold
        and line.size >= body * 0.95
        and text[:1].isupper()
        or (line.bold and bool(_NUMBERED.match(text)))
    )


def _build_page(
    raw: RawPage, body: float, heading_sizes: list[float], drop: set[str] | None = None
) -> PageContent:
    """Group lines into heading/text blocks and merge in tables and OCR text by position."""
    page = PageContent(
        number=raw.number,
        width=raw.width,
        height=raw.height,
        ocr=bool(raw.ocr_blocks) or raw.ocr_seconds > 0,
        ocr_seconds=raw.ocr_seconds,
    )
    drop = drop or set()
    blocks: list[Block] = []
    cur: list[Line] = []
    cur_kind: BlockKind = "text"

    def flush() -> None:
        if not cur:
            return
        text = join_lines([ln.text for ln in cur])
        bbox = (
            min(ln.bbox[0] for ln in cur),
            min(ln.bbox[1] for ln in cur),
            max(ln.bbox[2] for ln in cur),
            max(ln.bbox[3] for ln in cur),
        )
        size = max(ln.size for ln in cur)
        level = _heading_level(text, size, heading_sizes) if cur_kind == "heading" else 0
        blocks.append(Block(kind=cur_kind, text=text, level=level, bbox=bbox, size=size))
        cur.clear()

    prev: Line | None = None
    lines = [
        ln
        for ln in raw.lines
        if not (_line_key(ln.text, raw.number) in drop and _in_margin(ln.bbox, raw.height))
    ]
    candidate = [_heading_candidate(ln, body) for ln in lines]
    for i, ln in enumerate(lines):
        is_heading = candidate[i]
        if is_heading and i + 1 < len(lines):
            nxt = lines[i + 1]
            # The first line of a paragraph in the same style as its continuation is not a heading.
            if (
                nxt.block_no == ln.block_no
                and not candidate[i + 1]
                and nxt.size == ln.size
                and nxt.bold == ln.bold
            ):
                is_heading = False
        kind: BlockKind = "heading" if is_heading else "text"
        new_block = (
            prev is None
            or kind != cur_kind
            or ln.block_no != prev.block_no
            or (kind == "heading" and (ln.size != prev.size or ln.bold != prev.bold))
            or ln.bbox[1] - prev.bbox[3] > max(ln.size, 6) * 0.9
        )
        if new_block:
            flush()
            cur_kind = kind
        cur.append(ln)
        prev = ln
    flush()

    extra = list(raw.tables) + list(raw.ocr_blocks)
    for item in sorted(extra, key=lambda b: (b.bbox[1], b.bbox[0])):
        # Insert before the first text block that starts below the item's top (reading order).
        idx = len(blocks)
        for i, b in enumerate(blocks):
            if b.bbox[1] >= item.bbox[1] - 1 and _x_overlaps(b.bbox, item.bbox):
                idx = i
                break
        blocks.insert(idx, item)
    page.blocks = blocks
    return page


def _x_overlaps(a: BBox, b: BBox) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0])


def _heading_level(text: str, size: float, heading_sizes: list[float]) -> int:
    if _CHAPTER.match(text):
        return 1
    m = _NUMBERED.match(text)
    if m:
        return min(4, m.group(1).count(".") + 1)
    for i, s in enumerate(heading_sizes):
        if size >= s:
            return min(4, i + 1)
    return min(4, len(heading_sizes) + 1)


def _line_key(text: str, page_number: int) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())


def _in_margin(bbox: BBox, height: float) -> bool:
    return bbox[3] < height * 0.12 or bbox[1] > height * 0.86


def _running_lines(raws: list[RawPage]) -> set[str]:
    """Header/footer lines repeated on most pages (document names, page numbers, site stamps)."""
    if len(raws) < 4:
        return set()
    counts: Counter[str] = Counter()
    for raw in raws:
        keys = {
            _line_key(ln.text, raw.number) for ln in raw.lines if _in_margin(ln.bbox, raw.height)
        }
        counts.update(keys)
    return {k for k, n in counts.items() if n >= max(3, 0.4 * len(raws))}


def _heading_sizes(raws: list[RawPage], body: float) -> list[float]:
    sizes: Counter[float] = Counter()
    for raw in raws:
        for ln in raw.lines:
            if ln.size >= body * 1.2 and _heading_candidate(ln, body):
                sizes[ln.size] += 1
    return sorted(sizes, reverse=True)[:4]


def assemble_raw(raws: list[RawPage]) -> list[PageContent]:
    hist: Counter[float] = Counter()
    for raw in raws:
        hist.update(raw.size_hist)
    body = _body_size(hist)
    hsizes = _heading_sizes(raws, body)
    drop = _running_lines(raws)
    return [_build_page(raw, body, hsizes, drop) for raw in raws]
