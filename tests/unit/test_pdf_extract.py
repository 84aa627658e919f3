"""inspect_pdf rejections, OCR of image-only and garbled regions, headings and progress."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from techdocs_app.errors import UploadRejected
from techdocs_app.rag import pdf as pdfmod
from techdocs_app.rag.pdf import extract_document, extract_page, inspect_pdf
from techdocs_app.rag.pdf import ocr as pdf_ocr
from tests.conftest import CORPUS_DIR

CORPUS = CORPUS_DIR


def _pdf_bytes(text: str = "Hello manual", pages: int = 1) -> bytes:
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page()
        page.insert_text((72, 72), f"{text} {i + 1}", fontsize=12)
    data = doc.tobytes()
    doc.close()
    return data


def test_inspect_accepts_a_normal_pdf() -> None:
    info = inspect_pdf(_pdf_bytes(pages=3))
    assert info.pages == 3 and not info.encrypted


def test_inspect_rejects_empty_file() -> None:
    with pytest.raises(UploadRejected, match="empty"):
        inspect_pdf(b"")


def test_inspect_rejects_a_renamed_non_pdf() -> None:
    with pytest.raises(UploadRejected, match="not a PDF") as exc:
        inspect_pdf(b"PK\x03\x04 this is really a zip file" + b"\x00" * 100)
    assert "not a PDF" in exc.value.user_message


def test_inspect_rejects_truncated_pdf() -> None:
    data = _pdf_bytes("Truncated", pages=5)
    with pytest.raises(UploadRejected) as exc:
        inspect_pdf(data[: len(data) // 3])
    assert "damaged or incomplete" in exc.value.user_message


def test_inspect_rejects_password_protected_pdf() -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="u")
    with pytest.raises(UploadRejected) as exc:
        inspect_pdf(data)
    assert exc.value.user_message == (
        "This PDF is password-protected: remove the password and upload it again."
    )


def test_inspect_rejects_zero_pages() -> None:
    # PyMuPDF refuses to save a page-less PDF, so write the minimal one by hand.
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 3\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    with pytest.raises(UploadRejected, match="no pages"):
        inspect_pdf(out)


def _image_only_pdf(path: Path, text_lines: list[str]) -> None:
    """A page whose only content is a picture of text (a scan)."""
    src = pymupdf.open()
    page = src.new_page(width=400, height=200)
    for i, line in enumerate(text_lines):
        page.insert_text((20, 50 + 30 * i), line, fontsize=18)
    pix = page.get_pixmap(dpi=200)
    out = pymupdf.open()
    out.new_page(width=595, height=842).insert_image(pymupdf.Rect(50, 100, 545, 350), pixmap=pix)
    out.save(path)


def test_image_only_page_goes_through_ocr(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    _image_only_pdf(path, ["Torque spec 25 Nm", "Fault code E302 low battery"])
    [page] = extract_document(path)
    assert page.ocr and page.ocr_seconds > 0
    text = " ".join(b.text for b in page.blocks)
    assert "Torque spec 25 Nm" in text
    assert "E302" in text
    # OCR text is placed where the image is (page coordinates).
    assert all(100 <= b.bbox[1] and b.bbox[3] <= 360 for b in page.blocks)


def test_garbled_text_layer_is_replaced_by_ocr(tmp_path: Path) -> None:
    """Real glyphs in an image, a broken (non-ASCII) text layer on top: OCR wins."""
    path = tmp_path / "garbled.pdf"
    _image_only_pdf(path, ["Replace fuse F3 with 2 A slow blow"])
    doc = pymupdf.open(path)
    page = doc[0]
    garbage = "ÐÑÒÓÔ ÕÖ×ØÙ ÚÛÜÝÞ ßàáâã äåæçè éêëìí îïðñò"
    # Same place and size as the pictured line (image scale 495/400), drawn invisibly: a text
    # layer whose codes do not match its glyphs.
    scale = 495 / 400
    page.insert_text(
        (50 + 20 * scale, 100 + 50 * scale), garbage, fontsize=18 * scale, render_mode=3
    )
    page.insert_text((60, 420), "Visible intro line that is fine and long enough.", fontsize=11)
    doc.saveIncr()
    doc.close()
    content = extract_page(path, 1)
    text = " ".join(b.text for b in content.blocks)
    assert content.ocr
    assert "fuse F3" in text
    assert "ÐÑÒ" not in text
    assert "Visible intro line" in text


def test_missing_tesseract_data_raises_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "scan.pdf"
    _image_only_pdf(path, ["Nothing to read without OCR"])
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path / "nowhere"))
    monkeypatch.setattr(pdf_ocr.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pdf_ocr, "_TESSDATA_FALLBACKS", (str(tmp_path / "none"),))
    pdfmod.tessdata_dir.cache_clear()
    try:
        with pytest.raises(pdfmod.OcrUnavailable) as exc:
            extract_document(path)
        assert "tesseract" in exc.value.user_message.lower()
    finally:
        pdfmod.tessdata_dir.cache_clear()


def test_neets_chapter_one_text_layer_is_recovered_without_losing_the_table() -> None:
    # NEETS chapter 1 fonts have no Unicode map (plain extraction gives U+FFFD).
    content = extract_page(CORPUS / "neets_module4.pdf", 20)
    tables = [b for b in content.blocks if b.kind == "table"]
    text = " ".join(b.text for b in content.blocks)
    assert "\ufffd" not in text
    assert "Standard Solid Copper" in text
    awg10 = next(r for t in tables for r in t.rows if r[0] == "10")
    assert awg10[1:4] == ["102.0", "10,400.0", ".00815"]


def test_headings_levels_and_progress() -> None:
    calls: list[tuple[int, int]] = []
    pages = extract_document(
        CORPUS / "stm32f103_datasheet.pdf", on_page=lambda done, total: calls.append((done, total))
    )
    assert len(pages) == 130 and [p.number for p in pages] == list(range(1, 131))
    assert calls[-1] == (130, 130) and all(t == 130 for _, t in calls)
    headings = {b.text: b.level for p in pages for b in p.blocks if b.kind == "heading"}
    assert headings.get("5.3.2 Operating conditions at power-up / power-down") == 3
    # Running headers/footers are not content.
    assert not any("Doc ID 14611" in b.text for p in pages[5:] for b in p.blocks)


def test_ocr_of_several_documents_at_once_keeps_each_page_its_own_text(tmp_path: Path) -> None:
    """`run_ocr` over two documents (as the ingest benchmark does): two Tesseract processes."""
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    _image_only_pdf(first, ["Torque spec 25 Nm", "Fault code E302 low battery"])
    _image_only_pdf(second, ["Replace fuse F3 with 2 A slow blow"])
    raws = {path: pdfmod.parse_pages(path) for path in (first, second)}
    assert all(raw.ocr_regions and not raw.ocr_blocks for rs in raws.values() for raw in rs)
    finished: list[int] = []
    pdfmod.run_ocr(list(raws.items()), workers=2, on_page=lambda raw: finished.append(raw.number))
    assert finished == [1, 1]
    [one] = pdfmod.assemble_pages(raws[first])
    [two] = pdfmod.assemble_pages(raws[second])
    one_text = " ".join(b.text for b in one.blocks)
    two_text = " ".join(b.text for b in two.blocks)
    assert "E302" in one_text and "fuse" not in one_text
    assert "fuse F3" in two_text and "E302" not in two_text
    assert one.ocr and two.ocr and one.ocr_seconds > 0 and two.ocr_seconds > 0
    assert all(100 <= b.bbox[1] and b.bbox[3] <= 360 for b in one.blocks + two.blocks)


def test_ocr_without_the_tesseract_program_uses_the_linked_ocr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the language data installed (no `tesseract` on PATH): still read, in-process."""
    path = tmp_path / "scan.pdf"
    _image_only_pdf(path, ["Torque spec 25 Nm"])
    monkeypatch.setattr(pdf_ocr.shutil, "which", lambda name: None)
    pdf_ocr._tesseract_program.cache_clear()
    calls: list[tuple[int, int]] = []
    try:
        [page] = extract_document(path, on_page=lambda done, total: calls.append((done, total)))
    finally:
        pdf_ocr._tesseract_program.cache_clear()
    assert page.ocr and "Torque spec 25 Nm" in " ".join(b.text for b in page.blocks)
    assert calls == [(1, 1)]
