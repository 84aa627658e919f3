"""The seed's ingest approach, kept only as the baseline of the ingest benchmark.

pdfplumber `extract_text` + `extract_tables` on every page, then fixed 400-word chunks with a
100-word overlap. Not used by the product.
"""

from __future__ import annotations

import os

import pdfplumber

SEED_CHUNK_WORDS = 400
SEED_OVERLAP_WORDS = 100


def seed_extract_and_chunk(path: str | os.PathLike[str]) -> list[str]:
    parts: list[str] = []
    with pdfplumber.open(os.fspath(path)) as pdf:
        for page in pdf.pages:
            parts.append(page.extract_text() or "")
            for table in page.extract_tables():
                for row in table:
                    parts.append(" | ".join(cell or "" for cell in row))
    words = " ".join(parts).split()
    step = SEED_CHUNK_WORDS - SEED_OVERLAP_WORDS
    return [
        " ".join(words[i : i + SEED_CHUNK_WORDS])
        for i in range(0, max(len(words) - SEED_OVERLAP_WORDS, 1), step)
        if words[i : i + SEED_CHUNK_WORDS]
    ]
