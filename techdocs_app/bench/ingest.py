"""`bench ingest --corpus DIR`: the whole ingestion pipeline vs the seed's parsing, same files, same run.

Ours, for every PDF in DIR (sorted): validate + store + document row → extract (OCR where needed) →
chunk → embed children → one transaction storing the chunks, into a scratch organization that is
deleted afterwards. Both cores are used: the next document is extracted while the previous one is
embedded and stored (one background thread; ONNX Runtime releases the GIL), and large documents are
extracted by two processes. The embedding model is loaded once before the clock starts (a worker
loads it once per process, not per corpus).

Figures:
- OCR time is measured around the OCR calls themselves (`PageContent.ocr_seconds`, summed);
  `ocr_s_per_page` = that sum / pages that needed OCR.
- `parse_pages_per_s`: pages that needed no OCR / (extraction + chunking wall time − OCR time).
  When a document is extracted by N processes its OCR seconds ran N-wide, so OCR/N is taken off.
- `total_pages_per_s`: pages that needed no OCR / (wall_s − the same OCR share).
- `wall_s`: plain wall time of the whole corpus, everything included.
- baseline: `rag.seed_baseline.seed_extract_and_chunk` over the same files (no OCR; every page).
"""

from __future__ import annotations

import argparse
import logging
import math
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class DocFigures:
    name: str
    pages: int = 0
    ocr_pages: int = 0
    chunks: int = 0
    extract_s: float = 0.0
    chunk_s: float = 0.0
    ocr_s: float = 0.0
    ocr_share_s: float = 0.0
    embed_s: float = 0.0
    store_s: float = 0.0
    status: str = "pending"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, required=True, help="folder of PDFs")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files (0: all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the seed's approach")


def _extract_parallelism(pages: int, workers: int) -> int:
    from techdocs_app.rag import pdf

    if workers <= 1 or pages < pdf.PARALLEL_MIN_PAGES:
        return 1
    return max(1, min(workers, math.ceil(pages / pdf.PAGES_PER_TASK)))


def _create_scratch_org() -> int:
    from techdocs_app.db.engine import session_scope
    from techdocs_app.db.models import Organization

    with session_scope() as session:
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

    with session_scope() as session:
        keys = list(session.exec(select(Document.storage_key).where(Document.org_id == org_id)))
        org = session.get(Organization, org_id)
        if org is not None:
            session.delete(org)  # documents and chunks go with it (ON DELETE CASCADE)
    store = get_file_store()
    for key in keys:
        store.delete(key)


def run_pipeline(files: list[Path], org_id: int) -> tuple[list[DocFigures], float]:
    from techdocs_app.db import documents as docs_db
    from techdocs_app.db.engine import session_scope
    from techdocs_app.errors import TechDocsError
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.chunking import chunk_document
    from techdocs_app.rag.ingest import embed_drafts, register_upload, store_chunks
    from techdocs_app.rag.pdf import extract_document
    from techdocs_app.settings import get_settings
    from techdocs_app.storage import get_file_store

    settings = get_settings()
    workers = settings.workers_per_ingest
    embedder = get_embedder()
    embedder.embed_documents(["warm-up"])  # load the model before the clock starts
    store = get_file_store()
    figures: list[DocFigures] = []

    def embed_and_store(fig: DocFigures, document_id: int, drafts: list, pages: list) -> None:
        t = time.perf_counter()
        vectors = embed_drafts(drafts, embedder)
        fig.embed_s = time.perf_counter() - t
        t = time.perf_counter()
        stored = store_chunks(
            document_id=document_id,
            drafts=drafts,
            vectors=vectors,
            embed_model=embedder.model_name,
            pages=len(pages),
            ocr_pages=sum(1 for p in pages if p.ocr),
        )
        fig.store_s = time.perf_counter() - t
        fig.chunks = stored.chunk_count if stored else 0
        fig.status = stored.status if stored else "deleted"

    start = time.perf_counter()
    in_flight: Future | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed") as pool:
        for path in files:
            fig = DocFigures(name=path.name)
            figures.append(fig)
            try:
                registered = register_upload(
                    org_id=org_id, filename=path.name, data=path.read_bytes()
                )
            except TechDocsError as exc:
                fig.status = f"rejected: {exc.user_message}"
                continue
            doc = registered.document
            assert doc.id is not None
            with session_scope() as session:
                docs_db.update_document(session, document_id=doc.id, status="processing")
            t = time.perf_counter()
            with store.local_copy(doc.storage_key) as stored_path:
                pages = extract_document(stored_path, workers=workers)
            fig.extract_s = time.perf_counter() - t
            t = time.perf_counter()
            drafts = chunk_document(
                pages,
                title=doc.title or doc.filename,
                chunk_tokens=settings.chunk_tokens,
                overlap_tokens=settings.chunk_overlap_tokens,
                parent_tokens=settings.parent_chunk_tokens,
            )
            fig.chunk_s = time.perf_counter() - t
            fig.pages = len(pages)
            fig.ocr_pages = sum(1 for p in pages if p.ocr)
            fig.ocr_s = sum(p.ocr_seconds for p in pages)
            fig.ocr_share_s = fig.ocr_s / _extract_parallelism(len(pages), workers)
            if in_flight is not None:
                in_flight.result()
            in_flight = pool.submit(embed_and_store, fig, doc.id, drafts, pages)
        if in_flight is not None:
            in_flight.result()
    return figures, time.perf_counter() - start


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

    org_id = _create_scratch_org()
    try:
        figures, wall_s = run_pipeline(files, org_id)
    finally:
        _drop_scratch_org(org_id)

    print(
        f"{'file':34} {'pages':>5} {'ocr':>4} {'chunks':>6} {'extract':>8} {'ocr_s':>7} "
        f"{'chunk':>6} {'embed':>6} {'store':>6}  status"
    )
    for f in figures:
        print(
            f"{f.name[:34]:34} {f.pages:5d} {f.ocr_pages:4d} {f.chunks:6d} {f.extract_s:8.2f} "
            f"{f.ocr_s:7.2f} {f.chunk_s:6.2f} {f.embed_s:6.2f} {f.store_s:6.2f}  {f.status}"
        )
    pages = sum(f.pages for f in figures)
    ocr_pages = sum(f.ocr_pages for f in figures)
    plain_pages = pages - ocr_pages
    ocr_s = sum(f.ocr_s for f in figures)
    ocr_share = sum(f.ocr_share_s for f in figures)
    parse_s = sum(f.extract_s + f.chunk_s for f in figures) - ocr_share
    parse_pps = plain_pages / parse_s if parse_s > 0 else 0.0
    total_pps = plain_pages / (wall_s - ocr_share) if wall_s > ocr_share else 0.0
    ocr_per_page = ocr_s / ocr_pages if ocr_pages else 0.0
    embed_s = sum(f.embed_s for f in figures)
    chunks = sum(f.chunks for f in figures)
    print(
        f"ours: {pages} pages ({ocr_pages} OCR) → {chunks} chunks in {wall_s:.1f} s wall; "
        f"extract+chunk {parse_s + ocr_share:.1f} s of which OCR share {ocr_share:.1f} s "
        f"(OCR {ocr_s:.1f} s summed); embed {embed_s:.1f} s (overlapped with extraction)"
    )

    if args.no_baseline:
        base_pps = 0.0
    else:
        base_pages, base_s = run_baseline(files)
        base_pps = base_pages / base_s if base_s > 0 else 0.0
        print(f"seed: {base_pages} pages parsed+chunked in {base_s:.1f} s ({base_pps:.2f} pages/s)")
    speedup = parse_pps / base_pps if base_pps else 0.0
    print(
        f"bench-ingest: pages={pages} ocr_pages={ocr_pages} wall_s={wall_s:.1f} "
        f"parse_pages_per_s={parse_pps:.1f} total_pages_per_s={total_pps:.1f} "
        f"ocr_s_per_page={ocr_per_page:.2f} baseline_parse_pages_per_s={base_pps:.2f} "
        f"parse_speedup={speedup:.1f}"
    )
    return 0
