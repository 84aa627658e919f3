"""PDF → structured page content: headings, running text, whole tables, OCR where the text layer fails.

Pipeline per page (PyMuPDF only; every step is C-backed except the small pure-Python table grid):

1. `get_text("dict")` lines with font size / weight → headings and paragraphs. Heading levels are
   decided once per *document* (body size = the most common font size over all pages), so a page
   full of small table text does not turn its captions into headings.
2. Tables: only on pages whose vector graphics show a ruling grid (horizontal *and* vertical rules
   that intersect), the grid is rebuilt from the rules and the page's words are dropped into its
   cells. The rules are the table; no costly generic table finder runs on pages without them.
   Words inside a table are removed from the running text, so table text is never indexed twice.
3. OCR (Tesseract through PyMuPDF) only for regions that need it: large images on pages with
   (almost) no text layer, whole pages that only draw vector graphics, and text blocks whose text
   layer is garbled (broken font encodings show up as a high share of non-ASCII letters).

`extract_document` spreads page ranges over forked worker processes when the document is large
enough to pay for them.
"""

from __future__ import annotations

import bisect
import glob
import logging
import os
import re
import shutil
import string
import subprocess
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
    wait,
)
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

import pymupdf

from techdocs_app.errors import IngestFailed, UploadRejected

BlockKind = Literal["heading", "text", "table"]
BBox = tuple[float, float, float, float]

# ---- tunables (measured on the eval corpus) -------------------------------------------------
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

log = logging.getLogger(__name__)


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


# ---- upload inspection ------------------------------------------------------------------------


def inspect_pdf(data: bytes | Path) -> PdfInfo:
    """Validate an upload before it is stored; every rejection tells the user what to do.

    `data` is the file's bytes or a path to it (an upload streamed to disk is never read whole
    into memory: only its first and last kilobytes, then MuPDF reads what it needs)."""
    if isinstance(data, Path):
        size = data.stat().st_size
        with data.open("rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 2048))
            tail = fh.read(2048)
    else:
        size, head, tail = len(data), data[:1024], data[-2048:]
    if not size:
        raise UploadRejected("This file is empty (0 bytes). Choose the PDF again and re-upload it.")
    if not head.lstrip(b"\x00\t\n\r ")[:5].startswith(b"%PDF-") and b"%PDF-" not in head:
        raise UploadRejected(
            "This file is not a PDF. Export or save the manual as PDF and upload that file."
        )
    try:
        if isinstance(data, Path):
            doc = pymupdf.open(str(data), filetype="pdf")
        else:
            doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF raises several types for broken files
        raise UploadRejected(
            "This PDF is damaged or incomplete and cannot be read. "
            "Download or export it again and upload the new copy.",
            detail=f"open failed: {exc!r}",
        ) from exc
    with doc:
        if doc.needs_pass:
            raise UploadRejected(
                "This PDF is password-protected: remove the password and upload it again.",
                detail="encrypted",
            )
        if doc.is_repaired and _truncated(tail):
            raise UploadRejected(
                "This PDF is damaged or incomplete (the file seems cut off). "
                "Download or export it again and upload the new copy.",
                detail="repaired + no %%EOF",
            )
        pages = doc.page_count
        if pages == 0:
            raise UploadRejected(
                "This PDF has no pages. Check that you exported the whole manual and upload it again."
            )
        try:
            for i in range(pages):
                doc.load_page(i)
        except Exception as exc:
            raise UploadRejected(
                "This PDF is damaged or incomplete and cannot be read. "
                "Download or export it again and upload the new copy.",
                detail=f"page load failed: {exc!r}",
            ) from exc
        title = (doc.metadata or {}).get("title") or None
        return PdfInfo(pages=pages, encrypted=bool(doc.is_encrypted), title=title)


def _truncated(tail: bytes) -> bool:
    return b"%%EOF" not in tail[-2048:]


# ---- tesseract ----------------------------------------------------------------------------


_TESSDATA_FALLBACKS = ("/usr/share/tessdata", "/usr/local/share/tessdata")


@lru_cache(maxsize=1)
def tessdata_dir() -> str:
    """Folder holding eng.traineddata; raises OcrUnavailable with an actionable message."""
    candidates: list[str] = []
    env = os.environ.get("TESSDATA_PREFIX")
    if env:
        candidates.append(env)
    candidates += sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata"), reverse=True)
    candidates += _TESSDATA_FALLBACKS
    for cand in candidates:
        if (Path(cand) / "eng.traineddata").is_file():
            return cand
    raise OcrUnavailable(detail="eng.traineddata not found (install Debian tesseract-ocr)")


# ---- raw page extraction (runs in worker processes) ---------------------------------------


@dataclass(slots=True)
class _Line:
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
    lines: list[_Line]
    tables: list[Block]
    size_hist: dict[float, int]
    ocr_regions: list[BBox] = field(default_factory=list)
    """Regions (page points) whose text only OCR can read; filled in by `run_ocr`."""
    ocr_blocks: list[Block] = field(default_factory=list)
    ocr_seconds: float = 0.0
    """Time spent rendering and recognising this page's regions (summed over regions)."""


_TEXT_FLAGS = (
    pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP
)


_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ue000-\uf8ff\ufffd]")
"""Replacement and private-use glyphs and control characters: text without a usable Unicode map."""
_DROP_ASCII_LETTERS = str.maketrans("", "", string.ascii_letters)


def _letters(text: str) -> tuple[int, int]:
    """(letters, non-ASCII letters). Per-character Python loops only for non-ASCII text."""
    if text.isascii():
        return len(text) - len(text.translate(_DROP_ASCII_LETTERS)), 0
    letters = [c for c in text if c.isalpha()]
    return len(letters), sum(1 for c in letters if not c.isascii())


def _is_unreadable(c: str) -> bool:
    return _UNREADABLE.match(c) is not None


def _is_garbled(text: str) -> bool:
    """Broken font encodings: replacement/private-use glyphs or mostly non-ASCII letters."""
    if text.isascii() and not _UNREADABLE.search(text):
        return False  # nothing non-ASCII, nothing unreadable: the share is 0
    n, non_ascii = _letters(text)
    bad = len(_UNREADABLE.findall(text))
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
    textpage = page.get_textpage(flags=_TEXT_FLAGS)
    blocks = [
        b for b in page.get_text("dict", textpage=textpage, sort=True)["blocks"] if b["type"] == 0
    ]
    bad = [i for i, b in enumerate(blocks) if _is_garbled(_block_text(b))]
    if not bad:
        return blocks, [], textpage
    cid_page = page.get_textpage(flags=_TEXT_FLAGS | pymupdf.TEXT_USE_CID_FOR_UNKNOWN_UNICODE)
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


def _extract_raw(page: pymupdf.Page) -> RawPage:
    """Text lines, tables and the regions to OCR of one page; OCR itself is left to `run_ocr`."""
    rect = page.rect
    text_blocks, garbled, textpage = _text_blocks(page)
    paths = page.get_cdrawings()

    tables = []
    for table in _find_tables(page, textpage, paths):
        if _is_garbled(table.text):
            garbled.append(table.bbox)  # no usable text layer: OCR the table as text
        else:
            tables.append(table)
    table_rects = [t.bbox for t in tables]
    garbled = [g for g in garbled if not _inside(g, table_rects)]

    lines: list[_Line] = []
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
            weights = Counter()
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
            page_letters += _letters(text)[0]
            x0 = min(s["bbox"][0] for s in spans)
            y0 = min(s["bbox"][1] for s in spans)
            x1 = max(s["bbox"][2] for s in spans)
            y1 = max(s["bbox"][3] for s in spans)
            lines.append(
                _Line(
                    text=_clean_line(text),
                    bbox=(x0, y0, x1, y1),
                    size=size,
                    bold=total_chars > 0 and bold_chars >= 0.8 * total_chars,
                    block_no=bno,
                )
            )
    lines = _merge_same_row(lines)
    for t in tables:
        page_letters += _letters(t.text)[0]

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


_LEADERS = re.compile(r"(?:[ \t]*[.\u2026_\-=·]){4,}[ \t]*")


def _clean_line(text: str) -> str:
    """NFKC (Ω/µ/ligature variants match what people type), collapse whitespace and
    table-of-contents leaders (each dot would be a token)."""
    if not text.isascii():  # NFKC leaves ASCII unchanged
        text = unicodedata.normalize("NFKC", text)
    text = _LEADERS.sub(" ... ", text)
    if _UNREADABLE.search(text):  # stray glyphs without Unicode (a few per page)
        text = _UNREADABLE.sub(" ", text)
    return re.sub(r"[ \t\u00a0]+", " ", text).strip()


def _merge_same_row(lines: list[_Line]) -> list[_Line]:
    """Pieces of one visual line (section number + title, label + value) become one line."""
    out: list[_Line] = []
    for ln in lines:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.block_no == ln.block_no
            and abs(prev.bbox[1] - ln.bbox[1]) < 2.5
            and abs(prev.bbox[3] - ln.bbox[3]) < 2.5
            and ln.bbox[0] >= prev.bbox[2] - 1
        ):
            out[-1] = _Line(
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


def _image_regions(page: pymupdf.Page, lines: list[_Line]) -> list[BBox]:
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


def _render_region(page: pymupdf.Page, region: BBox, *, grey: bool) -> pymupdf.Pixmap:
    """The region at OCR_DPI, or lower so that it stays under OCR_MAX_PIXELS."""
    clip = pymupdf.Rect(region)
    dpi = OCR_DPI
    pixels = (clip.width / 72 * dpi) * (clip.height / 72 * dpi)
    if pixels > OCR_MAX_PIXELS:
        dpi = int(dpi * (OCR_MAX_PIXELS / pixels) ** 0.5)
    colorspace = pymupdf.csGRAY if grey else pymupdf.csRGB
    return page.get_pixmap(dpi=dpi, clip=clip, alpha=False, colorspace=colorspace)


@lru_cache(maxsize=1)
def _tesseract_program() -> str | None:
    return shutil.which("tesseract")


def _tesseract_tsv(png: bytes, tessdata: str, program: str) -> tuple[str, float]:
    """Recognise one image with the `tesseract` program: (TSV words, seconds).

    Thread-safe (the work happens in a child process), so several regions are recognised at
    once. Debian's build is also several times faster than the OCR linked into PyMuPDF (SIMD),
    and lets us turn off the second, inverted-colours pass over every low-confidence line
    (`tessedit_do_invert`), which costs much on photos and never helps printed manuals.
    """
    cmd = [program, "stdin", "stdout", "--tessdata-dir", tessdata, "-l", "eng", "--psm", "3"]
    cmd += ["-c", "tessedit_do_invert=0", "-c", "tessedit_create_tsv=1"]
    cmd += ["-c", "tessedit_create_txt=0"]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, input=png, capture_output=True, timeout=OCR_TIMEOUT_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        log.warning("tesseract timed out after %s s on one region; skipped", OCR_TIMEOUT_S)
        return "", time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")[-500:]
        if "traineddata" in err or "loading language" in err.lower():
            raise OcrUnavailable(detail=f"tesseract: {err}")
        log.warning("tesseract failed (exit %s) on one region; skipped: %s", proc.returncode, err)
        return "", seconds
    return proc.stdout.decode(errors="replace"), seconds


def _tsv_blocks(tsv: str, clip: BBox, sx: float, sy: float) -> list[Block]:
    """Tesseract paragraphs → text blocks in page coordinates (pixels scaled by sx, sy)."""
    paras: dict[tuple[str, str], dict[str, list[tuple[str, int, int, int, int]]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        left, top, width, height = (int(v) for v in cols[6:10])
        lines = paras.setdefault((cols[2], cols[3]), {})
        lines.setdefault(cols[4], []).append((cols[11].strip(), left, top, width, height))
    blocks: list[Block] = []
    for lines in paras.values():
        text = _join_lines([" ".join(w[0] for w in words) for words in lines.values()])
        if sum(c.isalnum() for c in text) < 3:
            continue
        words = [w for ws in lines.values() for w in ws]
        x0 = min(w[1] for w in words)
        y0 = min(w[2] for w in words)
        x1 = max(w[1] + w[3] for w in words)
        y1 = max(w[2] + w[4] for w in words)
        blocks.append(
            Block(
                kind="text",
                text=text,
                bbox=(clip[0] + x0 * sx, clip[1] + y0 * sy, clip[0] + x1 * sx, clip[1] + y1 * sy),
            )
        )
    return blocks


def _ocr_with_mupdf(page: pymupdf.Page, region: BBox, tessdata: str) -> list[Block]:
    """Fallback without the `tesseract` program: the OCR linked into PyMuPDF (slower, serial)."""
    clip = pymupdf.Rect(region)
    # RGB: Tesseract through MuPDF silently returns nothing for grey pixmaps.
    pix = _render_region(page, region, grey=False)
    try:
        pdf_bytes = pix.pdfocr_tobytes(language="eng", tessdata=tessdata)
    except Exception as exc:
        raise OcrUnavailable(detail=f"tesseract failed: {exc!r}") from exc
    blocks: list[Block] = []
    with pymupdf.open("pdf", pdf_bytes) as ocr_doc:
        opage = ocr_doc[0]
        sx = clip.width / opage.rect.width
        sy = clip.height / opage.rect.height
        for blk in opage.get_text("dict", flags=_TEXT_FLAGS)["blocks"]:
            if blk.get("type") != 0:
                continue
            texts = []
            for ln in blk["lines"]:
                t = " ".join("".join(s["text"] for s in ln["spans"]).split())
                if t:
                    texts.append(t)
            text = _join_lines(texts)
            if sum(c.isalnum() for c in text) < 3:
                continue
            b = blk["bbox"]
            blocks.append(
                Block(
                    kind="text",
                    text=text,
                    bbox=(
                        clip.x0 + b[0] * sx,
                        clip.y0 + b[1] * sy,
                        clip.x0 + b[2] * sx,
                        clip.y0 + b[3] * sy,
                    ),
                )
            )
    return blocks


class _PageSource:
    """Pages by (document or path, number), keeping the last opened file open."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._doc: pymupdf.Document | None = None

    def get(self, source: pymupdf.Document | str, number: int) -> pymupdf.Page:
        if isinstance(source, pymupdf.Document):
            return source[number - 1]
        if self._path != source:
            self.close()
            self._doc, self._path = pymupdf.open(source), source
        assert self._doc is not None
        return self._doc[number - 1]

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()
        self._doc = self._path = None

    def __enter__(self) -> _PageSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_ocr(
    docs: Sequence[tuple[pymupdf.Document | str | os.PathLike[str], Sequence[RawPage]]],
    *,
    workers: int = 2,
    on_page: Callable[[RawPage], None] | None = None,
) -> None:
    """OCR every pending region of the given pages (of one or several documents), in place.

    This thread renders the regions (PyMuPDF is not thread-safe) while up to `workers` Tesseract
    processes recognise them, so rendering overlaps recognition and all cores are used. Each
    page's `ocr_seconds` is the time of its own render and recognition calls.
    `on_page(raw)` is called when all regions of a page are done.
    """
    pending = [
        (src if isinstance(src, pymupdf.Document) else os.fspath(src), raw)
        for src, raws in docs
        for raw in raws
        if raw.ocr_regions
    ]
    if not pending:
        return
    tessdata = tessdata_dir()
    program = _tesseract_program()
    if program is None:
        with _PageSource() as pages:
            for source, raw in pending:
                page = pages.get(source, raw.number)
                for region in raw.ocr_regions:
                    t0 = time.perf_counter()
                    raw.ocr_blocks += _ocr_with_mupdf(page, region, tessdata)
                    raw.ocr_seconds += time.perf_counter() - t0
                if on_page:
                    on_page(raw)
        return

    workers = max(1, workers)
    results: dict[tuple[int, int], list[Block]] = {}
    left = {id(raw): len(raw.ocr_regions) for _, raw in pending}
    in_flight: dict[Future, tuple[RawPage, int, BBox, float, float]] = {}

    def collect(futures: set[Future]) -> None:
        for fut in futures:
            raw, index, clip, sx, sy = in_flight.pop(fut)
            tsv, seconds = fut.result()
            raw.ocr_seconds += seconds
            results[(id(raw), index)] = _tsv_blocks(tsv, clip, sx, sy)
            left[id(raw)] -= 1
            _page_finished(raw)

    def _page_finished(raw: RawPage) -> None:
        if left[id(raw)] == 0:
            raw.ocr_blocks += [
                b for i in range(len(raw.ocr_regions)) for b in results.pop((id(raw), i))
            ]
            if on_page:
                on_page(raw)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ocr")
    with pool, _PageSource() as pages:
        for source, raw in pending:
            page = pages.get(source, raw.number)
            for index, region in enumerate(raw.ocr_regions):
                if len(in_flight) >= 2 * workers:  # bound the rendered images held in memory
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    collect(done)
                t0 = time.perf_counter()
                pix = _render_region(page, region, grey=True)
                if pix.width * pix.height < OCR_PROGRAM_MIN_PIXELS:
                    # A line or two: starting a Tesseract process costs more than reading it
                    # here, and page segmentation (--psm 3) finds no text in so thin a strip.
                    results[(id(raw), index)] = _ocr_with_mupdf(page, region, tessdata)
                    raw.ocr_seconds += time.perf_counter() - t0
                    left[id(raw)] -= 1
                    _page_finished(raw)
                    continue
                png = pix.tobytes("png")  # PNG carries the dpi, which Tesseract uses
                clip = (region[0], region[1], region[2], region[3])
                sx = (region[2] - region[0]) / pix.width
                sy = (region[3] - region[1]) / pix.height
                raw.ocr_seconds += time.perf_counter() - t0
                fut = pool.submit(_tesseract_tsv, png, tessdata, program)
                in_flight[fut] = (raw, index, clip, sx, sy)
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            collect(done)


# ---- tables from ruling lines -----------------------------------------------------------------


@dataclass(slots=True)
class _Seg:
    pos: float  # y for horizontal, x for vertical
    lo: float
    hi: float


def _segments(page: pymupdf.Page, paths: list[dict]) -> tuple[list[_Seg], list[_Seg]] | None:
    if len(paths) > MAX_TABLE_PATHS or len(paths) < 2:
        return None
    page_area = abs(page.rect)
    hs: list[_Seg] = []
    vs: list[_Seg] = []

    def add_rect(x0: float, y0: float, x1: float, y1: float) -> None:
        x0, x1 = min(x0, x1), max(x0, x1)
        y0, y1 = min(y0, y1), max(y0, y1)
        w, h = x1 - x0, y1 - y0
        if h <= 3 and w > 3:
            hs.append(_Seg((y0 + y1) / 2, x0, x1))
        elif w <= 3 and h > 3:
            vs.append(_Seg((x0 + x1) / 2, y0, y1))
        elif w > 3 and h > 3 and w * h < 0.5 * page_area:
            hs.extend((_Seg(y0, x0, x1), _Seg(y1, x0, x1)))
            vs.extend((_Seg(x0, y0, y1), _Seg(x1, y0, y1)))

    for p in paths:
        for item in p["items"]:
            op = item[0]
            if op == "l":
                (ax, ay), (bx, by) = item[1], item[2]
                if abs(ay - by) <= 1 and abs(ax - bx) > 3:
                    hs.append(_Seg((ay + by) / 2, min(ax, bx), max(ax, bx)))
                elif abs(ax - bx) <= 1 and abs(ay - by) > 3:
                    vs.append(_Seg((ax + bx) / 2, min(ay, by), max(ay, by)))
            elif op == "re":
                add_rect(*item[1])
            elif op == "qu":
                pts = item[1]
                xs = [pt[0] for pt in pts]
                ys = [pt[1] for pt in pts]
                add_rect(min(xs), min(ys), max(xs), max(ys))
    if len(hs) < 3 or len(vs) < 3:
        return None
    return _merge(hs), _merge(vs)


def _merge(segs: list[_Seg], tol: float = 1.5, gap: float = 2.0) -> list[_Seg]:
    segs = sorted(segs, key=lambda s: (round(s.pos), s.lo))
    out: list[_Seg] = []
    for s in sorted(segs, key=lambda s: (s.pos, s.lo)):
        for o in reversed(out[-8:]):
            if abs(o.pos - s.pos) <= tol and s.lo <= o.hi + gap and s.hi >= o.lo - gap:
                o.lo, o.hi = min(o.lo, s.lo), max(o.hi, s.hi)
                break
        else:
            out.append(_Seg(s.pos, s.lo, s.hi))
    return out


def _cluster(values: list[float], tol: float = 2.0) -> list[float]:
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(c) / len(c) for c in out]


def _find_tables(
    page: pymupdf.Page, textpage: pymupdf.TextPage, paths: list[dict] | None = None
) -> list[Block]:
    segs = _segments(page, page.get_cdrawings() if paths is None else paths)
    if segs is None:
        return []
    hs, vs = segs
    tol = 2.0
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Rules that cross: only the vertical rules whose x lies within a horizontal rule's span
    # (found by bisection over the sorted x positions) are tested.
    v_order = sorted(range(len(vs)), key=lambda j: vs[j].pos)
    v_pos = [vs[j].pos for j in v_order]
    for i, h in enumerate(hs):
        lo = bisect.bisect_left(v_pos, h.lo - tol)
        hi = bisect.bisect_right(v_pos, h.hi + tol)
        for j in v_order[lo:hi]:
            v = vs[j]
            if v.lo - tol <= h.pos <= v.hi + tol:
                a, b = find(i), find(len(hs) + j)
                if a != b:
                    parent[a] = b
    groups: dict[int, tuple[list[_Seg], list[_Seg]]] = {}
    for i, h in enumerate(hs):
        groups.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vs):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(v)

    words = None
    tables: list[Block] = []
    for ghs, gvs in groups.values():
        ys = _cluster([h.pos for h in ghs])
        xs = _cluster([v.pos for v in gvs])
        if len(ys) < 3 or len(xs) < 3:
            continue
        if words is None:
            words = page.get_text("words", textpage=textpage)
        table = _fill_grid(ys, xs, ghs, gvs, words)
        if table is not None:
            tables.append(table)
    return tables


def _fill_grid(
    ys: list[float], xs: list[float], hsegs: list[_Seg], vsegs: list[_Seg], words: list[tuple]
) -> Block | None:
    n_rows, n_cols = len(ys) - 1, len(xs) - 1
    # For each row, which inner column boundaries are really drawn (else the cells are merged).
    vsegs_at = [[v for v in vsegs if abs(v.pos - x) <= 2.0] for x in xs]
    starts: list[list[int]] = []
    for r in range(n_rows):
        mid = (ys[r] + ys[r + 1]) / 2
        row_starts = [0]
        for c in range(1, n_cols):
            if any(v.lo - 2 <= mid <= v.hi + 2 for v in vsegs_at[c]):
                row_starts.append(c)
        starts.append(row_starts)
    cells: list[list[list[tuple]]] = [[[] for _ in range(n_cols)] for _ in range(n_rows)]
    x0, y0, x1, y1 = xs[0], ys[0], xs[-1], ys[-1]
    for w in words:
        cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
        if not (x0 <= cx <= x1 and y0 <= cy <= y1):
            continue
        r = _bisect(ys, cy)
        c = _bisect(xs, cx)
        c = max(s for s in starts[r] if s <= c)
        cells[r][c].append(w)
    # Cells spanning several rows (no rule drawn between them in that column): the words go
    # together into the span's first row.
    hsegs_at = [[h for h in hsegs if abs(h.pos - y) <= 2.0] for y in ys]
    rows: list[list[str]] = [[""] * n_cols for _ in range(n_rows)]
    for c in range(n_cols):
        mid = (xs[c] + xs[c + 1]) / 2
        r = 0
        while r < n_rows:
            end = r
            while (
                end + 1 < n_rows
                and c in starts[end + 1]
                and not any(h.lo - 2 <= mid <= h.hi + 2 for h in hsegs_at[end + 1])
            ):
                end += 1
            ws = sorted(
                (w for rr in range(r, end + 1) for w in cells[rr][c]),
                key=lambda w: (w[5], w[6], w[7]),
            )
            text = _clean_line(_join_lines(_cell_lines(ws)))
            # Row labels (first column) repeat on every row; other spanned cells appear once,
            # which keeps large datasheet tables from multiplying their token count.
            for rr in range(r, end + 1) if c == 0 else (r,):
                rows[rr][c] = text
            r = end + 1
    rows = [
        sub
        for row_index, row in enumerate(rows)
        for sub in _split_stacked_row(row_index, rows[row_index], cells)
    ]
    rows = [row for row in rows if any(row)]
    keep = [c for c in range(n_cols) if any(row[c] for row in rows)]
    rows = [[row[c] for c in keep] for row in rows]
    caption = ""
    if len(rows) >= 3 and sum(1 for cell in rows[0] if cell) == 1 and len(keep) >= 2:
        caption = next(cell for cell in rows[0] if cell)
        rows = rows[1:]
    if len(rows) < 2 or len(keep) < 2:
        return None
    block = Block(kind="table", text="", bbox=(x0, y0, x1, y1), rows=rows, caption=caption)
    block.text = render_table(rows)
    return block


def _split_stacked_row(r: int, row: list[str], cells: list[list[list[tuple]]]) -> list[list[str]]:
    """A grid row holding several table rows (no rules between them, e.g. NEETS table 1-2).

    When two or more columns hold three or more lines each and their lines sit on the same
    baselines, every baseline becomes its own row. A single wrapped cell does not trigger this.
    """
    line_ys: list[list[float]] = []
    for words in cells[r]:
        ys = _cluster([(w[1] + w[3]) / 2 for w in words], tol=2.0)
        line_ys.append(ys)
    stacked = [ys for ys in line_ys if len(ys) >= 3]
    if len(stacked) < 2:
        return [row]
    baselines = _cluster([y for ys in stacked for y in ys], tol=2.0)
    if len(baselines) > max(len(ys) for ys in stacked) + 1:
        return [row]  # lines do not line up: wrapped text, keep the row whole
    out: list[list[str]] = [["" for _ in row] for _ in baselines]
    for c, words in enumerate(cells[r]):
        if not words:
            continue
        for w in sorted(words, key=lambda w: (w[5], w[6], w[7])):
            cy = (w[1] + w[3]) / 2
            i = min(range(len(baselines)), key=lambda k: abs(baselines[k] - cy))
            out[i][c] = f"{out[i][c]} {w[4]}".strip()
    filled = sum(1 for words in cells[r] if words)
    full_lines = sum(1 for sub in out if sum(1 for t in sub if t) >= 0.8 * filled)
    if full_lines < 0.8 * len(out):
        return [row]  # lines only partly filled: wrapped cells or a rotated header
    return [[_clean_line(t) for t in sub] for sub in out]


def _bisect(bounds: list[float], v: float) -> int:
    for i in range(len(bounds) - 2, -1, -1):
        if v >= bounds[i]:
            return i
    return 0


def _cell_lines(ws: list[tuple]) -> list[str]:
    lines: list[str] = []
    key = None
    for w in ws:
        k = (w[5], w[6])
        if k != key:
            lines.append(w[4])
            key = k
        else:
            lines[-1] += " " + w[4]
    return lines


def render_table(rows: list[list[str]]) -> str:
    """Header row first, one row a line, cells separated by ' | '."""
    return "\n".join(" | ".join(cell for cell in row) for row in rows)


# ---- text assembly ----------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+[A-Za-z]")
_CAPTION = re.compile(r"^(table|figure|fig\.)\s*[0-9A-Z]+(?:[-.][0-9]+)*\b", re.I)
_CHAPTER = re.compile(r"^(chapter|section|part|annex|appendix)\s+([0-9]+|[A-Z]|[IVX]+)\b", re.I)


def _join_lines(lines: list[str]) -> str:
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


def _body_size(hist: Counter[float] | dict[float, int]) -> float:
    if not hist:
        return 10.0
    return max(hist.items(), key=lambda kv: (kv[1], -kv[0]))[0]


def _heading_candidate(line: _Line, body: float) -> bool:
    text = line.text
    if len(text) > 120 or len(text.split()) > 14 or _letters(text)[0] < 3:
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
    cur: list[_Line] = []
    cur_kind: BlockKind = "text"

    def flush() -> None:
        if not cur:
            return
        text = _join_lines([ln.text for ln in cur])
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

    prev: _Line | None = None
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
    sizes = Counter()
    for raw in raws:
        for ln in raw.lines:
            if ln.size >= body * 1.2 and _heading_candidate(ln, body):
                sizes[ln.size] += 1
    return sorted(sizes, reverse=True)[:4]


def _assemble(raws: list[RawPage]) -> list[PageContent]:
    hist: Counter[float] = Counter()
    for raw in raws:
        hist.update(raw.size_hist)
    body = _body_size(hist)
    hsizes = _heading_sizes(raws, body)
    drop = _running_lines(raws)
    return [_build_page(raw, body, hsizes, drop) for raw in raws]


# ---- public entry points ------------------------------------------------------------------


def extract_page(
    doc_or_path: pymupdf.Document | str | os.PathLike[str], page_number: int
) -> PageContent:
    """One page (1-based), OCR included, with heading sizes judged against that page alone."""
    if isinstance(doc_or_path, pymupdf.Document):
        raw = _extract_raw(doc_or_path[page_number - 1])
        run_ocr([(doc_or_path, [raw])])
    else:
        raw = parse_pages(doc_or_path, [page_number])[0]
        run_ocr([(doc_or_path, [raw])])
    return _assemble([raw])[0]


def parse_pages(
    path: str | os.PathLike[str], numbers: Sequence[int] | None = None
) -> list[RawPage]:
    """Pages (1-based; all when None) read in this process without OCR: their `ocr_regions` are
    left for `run_ocr`, and `assemble_pages` turns the whole document's pages into content."""
    with pymupdf.open(os.fspath(path)) as doc:
        nums = range(1, doc.page_count + 1) if numbers is None else numbers
        return [_extract_raw(doc[n - 1]) for n in nums]


def assemble_pages(raws: Sequence[RawPage]) -> list[PageContent]:
    """All pages of one document, in order (heading sizes and running headers are judged over
    the whole document)."""
    return _assemble(list(raws))


def extract_document(
    path: str | os.PathLike[str],
    *,
    workers: int = 2,
    on_page: Callable[[int, int], None] | None = None,
) -> list[PageContent]:
    """All pages of a PDF, in order: text and tables first (large documents split over `workers`
    processes), then OCR of the regions that need it (`workers` Tesseract processes at once).
    `on_page(done, total)` counts finished pages; pages waiting for OCR finish last."""
    path = os.fspath(path)
    done = 0

    def page_done(_: object = None) -> None:
        nonlocal done
        done += 1
        if on_page:
            on_page(done, total)

    try:
        with pymupdf.open(path) as doc:
            total = doc.page_count
            if workers <= 1 or total < PARALLEL_MIN_PAGES:
                raws = []
                for i in range(total):
                    raws.append(_extract_raw(doc[i]))
                    if not raws[-1].ocr_regions:
                        page_done()
            else:
                raws = _parse_in_processes(path, total, workers, page_done)
        run_ocr([(path, raws)], workers=workers, on_page=page_done)
    except OcrUnavailable:
        raise
    except (RuntimeError, ValueError, pymupdf.FileDataError) as exc:
        raise IngestFailed(
            "This manual could not be read as a PDF. Upload it again or export a fresh copy.",
            detail=repr(exc),
        ) from exc
    return _assemble(raws)


def _parse_in_processes(
    path: str, total: int, workers: int, page_done: Callable[[], None]
) -> list[RawPage]:
    # Interleave ranges so that heavy stretches (tables, scans) are spread over the workers.
    tasks = [
        list(range(s + 1, min(s + PAGES_PER_TASK, total) + 1))
        for s in range(0, total, PAGES_PER_TASK)
    ]
    results: dict[int, RawPage] = {}
    # "fork": children start in milliseconds and never re-import the caller's __main__ (which
    # "spawn" does, breaking scripts without a main guard). They only run MuPDF on their own
    # freshly opened document, so no parent thread state (embedder, DB pool) is used there.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(parse_pages, path, nums) for nums in tasks]
        for fut in as_completed(futures):
            for raw in fut.result():
                results[raw.number] = raw
                if not raw.ocr_regions:
                    page_done()
    return [results[n] for n in range(1, total + 1)]
