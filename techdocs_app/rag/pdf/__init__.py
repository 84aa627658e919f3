"""PDF → structured page content: headings, running text, whole tables, OCR where the text layer fails.

Pipeline per page (PyMuPDF only; every step is C-backed except the small pure-Python table grid):

1. `get_text("dict")` lines with font size / weight → headings and paragraphs (`raw`). Heading
   levels are decided once per *document* (`assemble`: body size = the most common font size over
   all pages), so a page full of small table text does not turn its captions into headings.
2. Tables (`tables`): only on pages whose vector graphics show a ruling grid (horizontal *and*
   vertical rules that intersect), the grid is rebuilt from the rules and the page's words are
   dropped into its cells. The rules are the table; no costly generic table finder runs on pages
   without them. Words inside a table are removed from the running text, so table text is never
   indexed twice.
3. OCR (`ocr`: Tesseract through PyMuPDF) only for regions that need it: large images on pages
   with (almost) no text layer, whole pages that only draw vector graphics, and text blocks whose
   text layer is garbled (broken font encodings show up as a high share of non-ASCII letters).

`extract_document` (`extract`) spreads page ranges over forked worker processes when the
document is large enough to pay for them. `inspect_pdf` (`upload`) checks an upload first.
"""

from techdocs_app.rag.pdf.content import Block, OcrUnavailable, PageContent, PdfInfo
from techdocs_app.rag.pdf.extract import (
    assemble_pages,
    extract_document,
    extract_page,
    parse_pages,
)
from techdocs_app.rag.pdf.ocr import run_ocr, tessdata_dir
from techdocs_app.rag.pdf.raw import RawPage
from techdocs_app.rag.pdf.tables import render_table
from techdocs_app.rag.pdf.upload import inspect_pdf

__all__ = [
    "Block",
    "OcrUnavailable",
    "PageContent",
    "PdfInfo",
    "RawPage",
    "assemble_pages",
    "extract_document",
    "extract_page",
    "inspect_pdf",
    "parse_pages",
    "render_table",
    "run_ocr",
    "tessdata_dir",
]
