"""OCR of the regions the text layer cannot give: Tesseract through PyMuPDF, or the tesseract
program for large regions, several at once."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ThreadPoolExecutor,
    wait,
)
from functools import lru_cache
from pathlib import Path

import pymupdf

from techdocs_app.rag.pdf.content import (
    OCR_DPI,
    OCR_MAX_PIXELS,
    OCR_PROGRAM_MIN_PIXELS,
    OCR_TIMEOUT_S,
    BBox,
    Block,
    OcrUnavailable,
)
from techdocs_app.rag.pdf.lines import join_lines
from techdocs_app.rag.pdf.raw import TEXT_FLAGS, RawPage

log = logging.getLogger(__name__)


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
        text = join_lines([" ".join(w[0] for w in words) for words in lines.values()])
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
        for blk in opage.get_text("dict", flags=TEXT_FLAGS)["blocks"]:
            if blk.get("type") != 0:
                continue
            texts = []
            for ln in blk["lines"]:
                t = " ".join("".join(s["text"] for s in ln["spans"]).split())
                if t:
                    texts.append(t)
            text = join_lines(texts)
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
