"""Public entry points: one page, pages in this process, or a whole document over processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import (
    ProcessPoolExecutor,
    as_completed,
)
from multiprocessing import get_context

import pymupdf

from techdocs_app.errors import IngestFailed
from techdocs_app.rag.pdf.assemble import assemble_raw
from techdocs_app.rag.pdf.content import (
    PAGES_PER_TASK,
    PARALLEL_MIN_PAGES,
    OcrUnavailable,
    PageContent,
)
from techdocs_app.rag.pdf.ocr import run_ocr
from techdocs_app.rag.pdf.raw import RawPage, extract_raw


def extract_page(
    doc_or_path: pymupdf.Document | str | os.PathLike[str], page_number: int
) -> PageContent:
    """One page (1-based), OCR included, with heading sizes judged against that page alone."""
    if isinstance(doc_or_path, pymupdf.Document):
        raw = extract_raw(doc_or_path[page_number - 1])
        run_ocr([(doc_or_path, [raw])])
    else:
        raw = parse_pages(doc_or_path, [page_number])[0]
        run_ocr([(doc_or_path, [raw])])
    return assemble_raw([raw])[0]


def parse_pages(
    path: str | os.PathLike[str], numbers: Sequence[int] | None = None
) -> list[RawPage]:
    """Pages (1-based; all when None) read in this process without OCR: their `ocr_regions` are
    left for `run_ocr`, and `assemble_pages` turns the whole document's pages into content."""
    with pymupdf.open(os.fspath(path)) as doc:
        nums = range(1, doc.page_count + 1) if numbers is None else numbers
        return [extract_raw(doc[n - 1]) for n in nums]


def assemble_pages(raws: Sequence[RawPage]) -> list[PageContent]:
    """All pages of one document, in order (heading sizes and running headers are judged over
    the whole document)."""
    return assemble_raw(list(raws))


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
                    raws.append(extract_raw(doc[i]))
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
    return assemble_raw(raws)


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
