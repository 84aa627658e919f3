"""The ingestion pipeline in-process (`ingest_path` / `run_ingest`): real PDF, real embedder, real DB."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
from sqlalchemy import text
from sqlmodel import select

from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import Chunk, Document, Organization
from techdocs_app.providers import get_embedder
from techdocs_app.rag.ingest import ingest_path, run_ingest
from techdocs_app.storage import get_file_store, reset_file_store

SMALL = "trikdis_rt2.pdf"


@pytest.fixture(autouse=True)
def _fresh_store(db):  # noqa: ANN001, ANN202
    reset_file_store()
    yield
    reset_file_store()


def image_only_pdf(lines: list[str]) -> bytes:
    """A scanned-looking PDF: the text exists only as pixels of one page image."""
    src = pymupdf.open()
    page = src.new_page(width=612, height=792)
    y = 110
    for line in lines:
        page.insert_text((72, y), line, fontsize=18)
        y += 34
    pixmap = page.get_pixmap(dpi=200)
    out = pymupdf.open()
    scan = out.new_page(width=612, height=792)
    scan.insert_image(scan.rect, pixmap=pixmap)
    assert scan.get_text().strip() == ""
    return out.tobytes()


def _chunks(document_id: int) -> list[Chunk]:
    with system_session_scope() as s:
        return list(
            s.exec(select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.ordinal))
        )


def _index_version(org_id: int) -> int:
    with system_session_scope() as s:
        org = s.get(Organization, org_id)
        assert org is not None
        return org.index_version


def test_ingest_path_builds_searchable_chunks(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    doc = ingest_path(org_id=owner.org_id, path=corpus_dir / SMALL, uploaded_by=owner.user_id)
    assert doc.status == "ready", doc.error_message
    assert doc.pages == 6 and doc.pages_done == 6 and doc.error_message is None
    assert doc.processed_at is not None
    model = get_embedder().model_name
    assert doc.embed_model == model

    chunks = _chunks(doc.id)
    parents = [c for c in chunks if c.kind == "section"]
    children = [c for c in chunks if c.kind != "section"]
    assert parents and children
    assert doc.chunk_count == len(children)
    assert {c.embed_model for c in chunks} == {model}
    assert all(c.org_id == owner.org_id for c in chunks)
    assert all(c.embedding is None for c in parents)
    assert all(c.embedding is not None and len(c.embedding) == 384 for c in children)
    parent_ids = {c.id for c in parents}
    assert all(c.parent_id in parent_ids for c in children if c.parent_id is not None)
    assert any(c.parent_id is not None for c in children)
    assert all(c.heading.startswith(doc.title) for c in chunks)
    assert all(1 <= c.page_start <= c.page_end <= 6 for c in chunks)
    assert _index_version(owner.org_id) == 1

    # Full text finds a word of the manual through the generated tsvector.
    word = next(w for w in children[0].content.split() if w.isalpha() and len(w) > 5)
    with system_session_scope() as s:
        hits = s.execute(
            text(
                "SELECT count(*) FROM chunks WHERE org_id = :org "
                "AND tsv @@ plainto_tsquery('english', :q)"
            ),
            {"org": owner.org_id, "q": word},
        ).scalar_one()
    assert hits >= 1


def test_rerun_replaces_chunks_and_never_duplicates(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    doc = ingest_path(org_id=owner.org_id, path=corpus_dir / SMALL)
    first = _chunks(doc.id)
    again = run_ingest(doc.id)
    assert again is not None and again.status == "ready"
    second = _chunks(doc.id)
    assert len(second) == len(first) and again.chunk_count == doc.chunk_count
    assert [c.content for c in second] == [c.content for c in first]
    assert not {c.id for c in first} & {c.id for c in second}
    assert _index_version(owner.org_id) == 2


def test_same_file_again_returns_the_ready_document(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    doc = ingest_path(org_id=owner.org_id, path=corpus_dir / SMALL)
    again = ingest_path(org_id=owner.org_id, path=corpus_dir / SMALL)
    assert again.id == doc.id and again.status == "ready"
    assert _index_version(owner.org_id) == 1  # not processed a second time


def test_image_only_pdf_is_read_by_ocr(make_org, tmp_path: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    path = tmp_path / "scanned_service_sheet.pdf"
    path.write_bytes(
        image_only_pdf(
            [
                "Compressor service sheet",
                "Tighten the mounting bolts to 25 Nm.",
                "Replace filter drier part number FD-4421.",
            ]
        )
    )
    doc = ingest_path(org_id=owner.org_id, path=path)
    assert doc.status == "ready", doc.error_message
    assert doc.ocr_pages == 1 and doc.chunk_count >= 1
    content = " ".join(c.content for c in _chunks(doc.id)).lower()
    assert "mounting bolts" in content and "fd-4421" in content


def test_missing_stored_file_fails_with_a_clear_message(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    owner = make_org("Bay Auto")
    doc = ingest_path(org_id=owner.org_id, path=corpus_dir / SMALL)
    get_file_store().delete(doc.storage_key)
    failed = run_ingest(doc.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error_message and "upload the PDF again" in failed.error_message
    # The previous chunks stay until a successful run replaces them.
    assert len(_chunks(doc.id)) > 0
    with system_session_scope() as s:
        assert s.get(Document, doc.id).status == "failed"  # type: ignore[union-attr]
