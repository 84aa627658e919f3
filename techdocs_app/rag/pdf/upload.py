"""Upload inspection: page count, encryption and title, before anything is stored."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from techdocs_app.errors import UploadRejected
from techdocs_app.rag.pdf.content import PdfInfo


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
