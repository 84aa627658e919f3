"""`bench ingest --corpus DIR`: the whole ingestion pipeline vs the seed's parsing, same files, same run.

Ours, for every PDF in DIR (sorted), into a scratch organization deleted afterwards, in phases so
that each figure measures only its own work and both cores are busy throughout:

1. register: validate + store + document row (serial; part of the wall time only).
2. parse: every document's text layer, fonts, tables and the regions that need OCR
   (`pdf.parse_pages`), as page ranges of all documents spread over a pool of processes
   (`settings.workers_per_ingest`, 2; forked and warmed up before the clock), biggest first.
   No OCR runs here.
3. OCR: every pending region of every document (`pdf.run_ocr`): this process renders, up to
   `workers` Tesseract processes recognise at once.
4. chunk: per document, assemble the pages (headings, running headers) and chunk them, documents
   spread over the process pool.
5. embed + store: per document, the children are embedded (ONNX Runtime, `embed_threads`=2) and
   stored in one transaction; storing runs in a background thread while the next document embeds.
   The embedding model is loaded once before the clock starts (a worker loads it once per process).

Figures (last line, the issue's definition):
- `wall_s`: plain wall time of phases 1-5, everything included.
- `ocr_s_per_page`: wall time of phase 3 (nothing but OCR calls, both cores) / pages OCR'd.
  The per-call sum (serial equivalent) is printed too.
- `parse_pages_per_s`: pages that needed no OCR / (wall of phase 2 + phase 4). Phase 2 parses every
  page, the OCR'd ones too, so this is conservative. The one-core rate (summed task times) is
  printed too.
- `total_pages_per_s`: pages that needed no OCR / (wall_s - wall of phase 3).
- baseline: `rag.seed_baseline.seed_extract_and_chunk` over the same files, run after ours in the
  same process (serial, as the seed does it; no OCR; every page).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PARSE_TASK_PAGES = 16
"""Pages per parse task: small enough to balance two processes, big enough to amortise opening."""


@dataclass
class DocFigures:
    name: str
    document_id: int | None = None
    path: str = ""
    title: str = ""
    pages: int = 0
    ocr_pages: int = 0
    chunks: int = 0
    parse_s: float = 0.0
    """Summed time of this document's parse tasks (one core each)."""
    ocr_s: float = 0.0
    """Summed time of this document's OCR calls (render + recognise)."""
    chunk_s: float = 0.0
    embed_s: float = 0.0
    store_s: float = 0.0
    status: str = "pending"
    raws: list[Any] = field(default_factory=list, repr=False)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, required=True, help="folder of PDFs")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (0: all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the seed's approach")


def _create_scratch_org() -> int:
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Organization

    with system_session_scope() as session:
        org = Organization(name=f"bench-ingest-{uuid.uuid4().hex[:8]}", plan="bench")
        session.add(org)
        session.flush()
        assert org.id is not None
        return org.id


def _drop_scratch_org(org_id: int) -> None:
    from sqlmodel import select

    from techdocs_app.db.engine import session_scope
    from techdocs_app.db.models import Document, Organization
    from techdocs_app.storage import get_file_store

    with session_scope(org_id=org_id) as session:
        keys = list(session.exec(select(Document.storage_key).where(Document.org_id == org_id)))
        org = session.get(Organization, org_id)
        if org is not None:
            session.delete(org)  # documents and chunks go with it (ON DELETE CASCADE)
    store = get_file_store()
    for key in keys:
        store.delete(key)


def _parse_task(path: str, numbers: list[int]) -> tuple[list[Any], float]:
    """Runs in a worker process: parse some pages of one document (no OCR), timed there."""
    from techdocs_app.rag.pdf import parse_pages

    t = time.perf_counter()
    raws = parse_pages(path, numbers)
    return raws, time.perf_counter() - t


def _warm_worker() -> None:
    """Pool initializer: load the chunker's tokenizer once per worker, before the clock."""
    from techdocs_app.text.wordpiece import count_tokens

    count_tokens("warm-up")


def _chunk_task(
    title: str, raws: list[Any], params: tuple[int, int, int]
) -> tuple[list[Any], int, float, float]:
    """Runs in a worker process: (drafts, OCR'd pages, OCR seconds, seconds taken)."""
    from techdocs_app.rag.chunking import chunk_document
    from techdocs_app.rag.pdf import assemble_pages

    chunk_tokens, overlap_tokens, parent_tokens = params
    t = time.perf_counter()
    pages = assemble_pages(raws)
    drafts = chunk_document(
        pages,
        title=title,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        parent_tokens=parent_tokens,
    )
    seconds = time.perf_counter() - t
    return drafts, sum(1 for p in pages if p.ocr), sum(p.ocr_seconds for p in pages), seconds


@dataclass
class PhaseTimes:
    register_s: float = 0.0
    parse_s: float = 0.0
    ocr_s: float = 0.0
    chunk_s: float = 0.0
    embed_store_s: float = 0.0


def run_pipeline(files: list[Path], org_id: int) -> tuple[list[DocFigures], PhaseTimes, float]:
    from techdocs_app.settings import get_settings

    workers = get_settings().workers_per_ingest
    # The worker processes fork before the embedding model loads: forked after it, they ran the
    # chunker 3-5x slower in wall time than in CPU time (measured on this machine).
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("fork"), initializer=_warm_worker
    )
    with pool:
        for fut in [pool.submit(time.sleep, 0.05) for _ in range(workers)]:
            fut.result()  # every worker started and warm before the model loads and the clock
        return _run_phases(files, org_id, pool, workers)


def _run_phases(
    files: list[Path], org_id: int, pool: ProcessPoolExecutor, workers: int
) -> tuple[list[DocFigures], PhaseTimes, float]:
    from techdocs_app.db import documents as docs_db
    from techdocs_app.db.engine import session_scope
    from techdocs_app.errors import TechDocsError
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.ingest import embed_drafts, mark_failed, register_upload, store_chunks
    from techdocs_app.rag.pdf import run_ocr
    from techdocs_app.settings import get_settings
    from techdocs_app.storage import get_file_store
    from techdocs_app.text.wordpiece import count_tokens

    settings = get_settings()
    embedder = get_embedder()
    embedder.embed_documents(["warm-up"])  # load the model before the clock starts
    count_tokens("warm-up")  # and the tokenizer
    store = get_file_store()
    figures = [DocFigures(name=path.name) for path in files]
    phases = PhaseTimes()

    start = time.perf_counter()
    with ExitStack() as stack:
        # 1. register (validate, store, document row)
        for path, fig in zip(files, figures, strict=True):
            try:
                registered = register_upload(
                    org_id=org_id, filename=path.name, data=path.read_bytes()
                )
            except TechDocsError as exc:
                fig.status = f"rejected: {exc.user_message}"
                continue
            doc = registered.document
            assert doc.id is not None
            fig.document_id = doc.id
            fig.title = doc.title or doc.filename
            with session_scope(org_id=org_id) as session:
                docs_db.update_document(session, document_id=doc.id, status="processing")
            fig.path = os.fspath(stack.enter_context(store.local_copy(doc.storage_key)))
            fig.pages = doc.pages
        live = [f for f in figures if f.document_id is not None]
        t = time.perf_counter()
        phases.register_s = t - start

        # 2. parse: page ranges of every document over the process pool, biggest documents first
        tasks = [
            (fig, list(range(s + 1, min(s + PARSE_TASK_PAGES, fig.pages) + 1)))
            for fig in sorted(live, key=lambda f: -f.pages)
            for s in range(0, fig.pages, PARSE_TASK_PAGES)
        ]
        parsed: dict[str, list[Any]] = {f.name: [] for f in live}
        failed: dict[str, str] = {}
        futures = {pool.submit(_parse_task, fig.path, nums): fig for fig, nums in tasks}
        for fut in as_completed(futures):
            fig = futures[fut]
            try:
                raws, seconds = fut.result()
            except TechDocsError as exc:
                failed[fig.name] = exc.user_message
                continue
            except (RuntimeError, ValueError) as exc:
                failed[fig.name] = f"could not be read: {exc!r}"
                continue
            parsed[fig.name] += raws
            fig.parse_s += seconds
        for fig in live:
            fig.raws = sorted(parsed[fig.name], key=lambda r: r.number)
        ok = [f for f in live if f.name not in failed]
        phases.parse_s = time.perf_counter() - t

        # 3. OCR of every pending region, all documents at once
        t = time.perf_counter()
        run_ocr([(f.path, f.raws) for f in ok], workers=workers)
        phases.ocr_s = time.perf_counter() - t

        # 4. assemble + chunk, documents over the process pool, biggest first
        t = time.perf_counter()
        params = (
            settings.chunk_tokens,
            settings.chunk_overlap_tokens,
            settings.parent_chunk_tokens,
        )
        drafts_by_doc: dict[str, list[Any]] = {}
        chunked = {
            fig.name: pool.submit(_chunk_task, fig.title, fig.raws, params)
            for fig in sorted(ok, key=lambda f: -f.pages)
        }
        for fig in ok:
            drafts, fig.ocr_pages, fig.ocr_s, fig.chunk_s = chunked[fig.name].result()
            drafts_by_doc[fig.name] = drafts
        phases.chunk_s = time.perf_counter() - t

        # 5. embed (both cores, ONNX threads) + store (background thread, overlaps next embed)
        t = time.perf_counter()

        def store(fig: DocFigures, drafts: list[Any], vectors: Any) -> None:
            t_store = time.perf_counter()
            assert fig.document_id is not None
            stored = store_chunks(
                document_id=fig.document_id,
                drafts=drafts,
                vectors=vectors,
                embed_model=embedder.model_name,
                pages=fig.pages,
                ocr_pages=fig.ocr_pages,
                org_id=org_id,
            )
            fig.store_s = time.perf_counter() - t_store
            fig.chunks = stored.chunk_count if stored else 0
            fig.status = stored.status if stored else "deleted"

        in_flight: Future | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="store") as storer:
            for fig in ok:
                drafts = drafts_by_doc[fig.name]
                t_embed = time.perf_counter()
                vectors = embed_drafts(drafts, embedder)
                fig.embed_s = time.perf_counter() - t_embed
                if in_flight is not None:
                    in_flight.result()
                in_flight = storer.submit(store, fig, drafts, vectors)
            if in_flight is not None:
                in_flight.result()
        phases.embed_store_s = time.perf_counter() - t
        for fig in live:
            if fig.name in failed:
                assert fig.document_id is not None
                mark_failed(fig.document_id, failed[fig.name])
                fig.status = f"failed: {failed[fig.name]}"
    return figures, phases, time.perf_counter() - start


def run_baseline(files: list[Path]) -> tuple[int, float]:
    import pymupdf

    from techdocs_app.rag.seed_baseline import seed_extract_and_chunk

    pages = 0
    start = time.perf_counter()
    for path in files:
        seed_extract_and_chunk(path)
    elapsed = time.perf_counter() - start
    for path in files:
        with pymupdf.open(path) as doc:
            pages += doc.page_count
    return pages, elapsed


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    files = sorted(p for p in Path(args.corpus).glob("*.pdf") if p.is_file())
    if args.limit:
        files = files[: args.limit]
    if not files:
        print(f"error: no PDFs in {args.corpus}")
        return 2

    load_before = os.getloadavg()[0]
    org_id = _create_scratch_org()
    try:
        figures, phases, wall_s = run_pipeline(files, org_id)
    finally:
        _drop_scratch_org(org_id)

    print(
        f"{'file':34} {'pages':>5} {'ocr':>4} {'chunks':>6} {'parse':>6} {'ocr_s':>7} "
        f"{'chunk':>6} {'embed':>6} {'store':>6}  status"
    )
    for f in figures:
        print(
            f"{f.name[:34]:34} {f.pages:5d} {f.ocr_pages:4d} {f.chunks:6d} {f.parse_s:6.2f} "
            f"{f.ocr_s:7.2f} {f.chunk_s:6.2f} {f.embed_s:6.2f} {f.store_s:6.2f}  {f.status}"
        )
    pages = sum(f.pages for f in figures)
    ocr_pages = sum(f.ocr_pages for f in figures)
    plain_pages = pages - ocr_pages
    ocr_calls_s = sum(f.ocr_s for f in figures)
    parse_s = phases.parse_s + phases.chunk_s
    parse_pps = plain_pages / parse_s if parse_s > 0 else 0.0
    one_core_s = sum(f.parse_s + f.chunk_s for f in figures)
    total_pps = plain_pages / (wall_s - phases.ocr_s) if wall_s > phases.ocr_s else 0.0
    ocr_per_page = phases.ocr_s / ocr_pages if ocr_pages else 0.0
    chunks = sum(f.chunks for f in figures)
    print(
        f"ours: {pages} pages ({ocr_pages} OCR) -> {chunks} chunks in {wall_s:.1f} s wall: "
        f"register {phases.register_s:.1f} s, parse {phases.parse_s:.1f} s, "
        f"OCR {phases.ocr_s:.1f} s, chunk {phases.chunk_s:.1f} s, "
        f"embed+store {phases.embed_store_s:.1f} s "
        f"(embed {sum(f.embed_s for f in figures):.1f} s, store {sum(f.store_s for f in figures):.1f} s)"
    )
    print(
        f"ours, one core: parse+chunk {one_core_s:.1f} s summed "
        f"({plain_pages / one_core_s if one_core_s else 0.0:.1f} pages/s); OCR calls summed "
        f"{ocr_calls_s:.1f} s ({ocr_calls_s / ocr_pages if ocr_pages else 0.0:.2f} s/page)"
    )

    unstored = [f.name for f in figures if f.status == "deleted"]
    if unstored:
        # A run that stored nothing would report an embed+store time without the store.
        print(f"error: {len(unstored)} manuals were not stored ({', '.join(unstored[:3])} …)")
        return 1

    if args.no_baseline:
        base_pps = 0.0
    else:
        base_pages, base_s = run_baseline(files)
        base_pps = base_pages / base_s if base_s > 0 else 0.0
        print(f"seed: {base_pages} pages parsed+chunked in {base_s:.1f} s ({base_pps:.2f} pages/s)")
        if one_core_s:
            print(
                f"one-core parse speedup over the seed: {plain_pages / one_core_s / base_pps:.1f}"
            )
    speedup = parse_pps / base_pps if base_pps else 0.0
    load_after = os.getloadavg()[0]
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    print(
        f"bench-ingest: pages={pages} ocr_pages={ocr_pages} wall_s={wall_s:.1f} "
        f"parse_pages_per_s={parse_pps:.1f} total_pages_per_s={total_pps:.1f} "
        f"ocr_s_per_page={ocr_per_page:.2f} baseline_parse_pages_per_s={base_pps:.2f} "
        f"parse_speedup={speedup:.1f}"
    )
    return 0
