"""Write ``ocr_pages.json``: tesseract's text of every page cited by an ``"ocr": true`` question.

Run from the project root: ``.venv/bin/python -m tests.eval.ocr_pages`` (needs Debian's
``tesseract-ocr`` with ``eng`` data and ../shared/eval/corpus). The unit test compares the evidence
of OCR-only questions with this committed text, so the test needs neither tesseract nor minutes of
CPU. OCR settings: PyMuPDF ``get_textpage_ocr(dpi=200, full=True)``, tesseract 5, language eng.
"""

from __future__ import annotations

import json
from pathlib import Path

import pymupdf

from tests.eval.split import EVAL_DIR, load_written

CORPUS = EVAL_DIR.parents[1].parent / "shared" / "eval" / "corpus"
OUT = EVAL_DIR / "ocr_pages.json"
TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
)


def tessdata() -> str:
    for candidate in TESSDATA_CANDIDATES:
        if (Path(candidate) / "eng.traineddata").is_file():
            return candidate
    raise SystemExit(
        "tesseract eng data not found: apt-get install tesseract-ocr tesseract-ocr-eng"
    )


def ocr_page(doc: str, page: int, tessdata_dir: str) -> str:
    with pymupdf.open(CORPUS / f"{doc}.pdf") as pdf:
        pdf_page = pdf[page - 1]
        textpage = pdf_page.get_textpage_ocr(dpi=200, full=True, tessdata=tessdata_dir)
        return pdf_page.get_text(textpage=textpage)


def main() -> None:
    wanted = sorted(
        {(q["doc"], page) for q in load_written() if q.get("ocr") for page in q["pages"]}
    )
    tess = tessdata()
    out: dict[str, dict[str, str]] = {}
    for doc, page in wanted:
        out.setdefault(doc, {})[str(page)] = ocr_page(doc, page, tess)
        print(f"{doc} p{page}")
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
