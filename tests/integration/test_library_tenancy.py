"""Org B can neither see nor touch org A's manuals, even with A's ids; page images for members."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from techdocs_app import library
from techdocs_app.errors import NotFound
from techdocs_app.rag.ingest import ingest_path
from techdocs_app.storage import get_file_store, reset_file_store

SMALL = "trikdis_rt2.pdf"


@pytest.fixture(autouse=True)
def _fresh_store(db):  # noqa: ANN001, ANN202
    reset_file_store()
    yield
    reset_file_store()


def test_other_org_gets_not_found_for_everything(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    a = make_org("Alpha Auto")
    b = make_org("Beta HVAC")
    doc = ingest_path(org_id=a.org_id, path=corpus_dir / SMALL)
    assert [d.id for d in library.list_documents(a)] == [doc.id]
    assert library.list_documents(b) == []
    assert library.list_documents(b, name_filter="trikdis") == []
    for call in (
        lambda: library.get_document(b, document_id=doc.id),
        lambda: library.delete_document(b, document_id=doc.id),
        lambda: library.reindex_document(b, document_id=doc.id),
        lambda: library.render_page_png(b, document_id=doc.id, page=1),
    ):
        with pytest.raises(NotFound):
            call()
    # A's manual is untouched.
    view = library.get_document(a, document_id=doc.id)
    assert view.status == "ready" and view.chunk_count == doc.chunk_count
    assert get_file_store().exists(doc.storage_key)


def test_name_filter(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    a = make_org("Alpha Auto")
    ingest_path(org_id=a.org_id, path=corpus_dir / SMALL)
    ingest_path(org_id=a.org_id, path=corpus_dir / "ender3_troubleshooting.pdf")
    assert [d.filename for d in library.list_documents(a, name_filter="ENDER3")] == [
        "ender3_troubleshooting.pdf"
    ]
    assert len(library.list_documents(a)) == 2
    assert library.list_documents(a, name_filter="%") == []  # LIKE wildcards are literal


def test_render_page_png_with_highlight(make_org, corpus_dir: Path) -> None:  # noqa: ANN001
    a = make_org("Alpha Auto")
    doc = ingest_path(org_id=a.org_id, path=corpus_dir / SMALL)
    plain = library.render_page_png(a, document_id=doc.id, page=1, zoom=1.0)
    box = {"page": 1, "x0": 100.0, "y0": 100.0, "x1": 300.0, "y1": 160.0}
    marked = library.render_page_png(a, document_id=doc.id, page=1, highlight=[box], zoom=1.0)
    assert plain.startswith(b"\x89PNG") and marked.startswith(b"\x89PNG")
    p0 = pymupdf.Pixmap(plain)
    p1 = pymupdf.Pixmap(marked)
    assert (p0.width, p0.height) == (p1.width, p1.height)
    inside = (200, 130)
    outside = (p0.width - 5, p0.height - 5)
    assert p1.pixel(*outside) == p0.pixel(*outside)
    r, g, b = p1.pixel(*inside)
    assert p1.pixel(*inside) != p0.pixel(*inside) and b < r  # a yellow-ish tint
    # Semi-transparent: over white paper the fill is a blend, not the solid highlight colour.
    assert 60 < b < 250
    zoomed = pymupdf.Pixmap(library.render_page_png(a, document_id=doc.id, page=1, zoom=2.0))
    assert zoomed.width == pytest.approx(p0.width * 2, abs=2)
    with pytest.raises(NotFound):
        library.render_page_png(a, document_id=doc.id, page=99)
