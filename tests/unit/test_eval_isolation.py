"""What keeps an eval run honest: its scratch organization is named after the corpus, the
ingestion code and the chunk sizes (a chunker change is measured on the chunks it makes), and the
held-out sets print aggregates only."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest

from techdocs_app.rag import evaluation

PACKAGE = Path(evaluation.__file__).resolve().parent.parent


def test_every_ingestion_module_exists() -> None:
    for entry in evaluation.INGESTION_MODULES:
        assert (PACKAGE / entry).exists(), entry


def _ingestion_files() -> list[Path]:
    files: list[Path] = []
    for entry in evaluation.INGESTION_MODULES:
        target = PACKAGE / entry
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    return files


def test_the_text_helpers_ingestion_reads_are_ingestion_modules() -> None:
    """A `techdocs_app.text` module the ingestion code imports decides stored text too (the PDF
    reader's stop words, the identifiers' compact keys are `text.words`): its source is part of the
    digest."""
    listed = {PACKAGE / entry for entry in evaluation.INGESTION_MODULES}
    for path in _ingestion_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "techdocs_app.text."
            ):
                module = PACKAGE / (
                    node.module.removeprefix("techdocs_app.").replace(".", "/") + ".py"
                )
                assert module in listed, f"{path.relative_to(PACKAGE)} imports {node.module}"


def _package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "pkg"
    for entry in evaluation.INGESTION_MODULES:
        source = PACKAGE / entry
        target = copy / entry
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return copy


def test_the_digest_follows_the_chunker_source(tmp_path: Path) -> None:
    copy = _package_copy(tmp_path)
    before = evaluation.ingestion_code_digest(copy)
    assert before == evaluation.ingestion_code_digest(PACKAGE)
    chunking = copy / "rag" / "chunking.py"
    chunking.write_text(chunking.read_text() + "\n# a new chunk boundary rule\n")
    assert evaluation.ingestion_code_digest(copy) != before


def test_the_digest_covers_files_under_a_folder(tmp_path: Path) -> None:
    copy = _package_copy(tmp_path)
    before = evaluation.ingestion_code_digest(copy)
    (copy / "rag" / "pdf" / "new_reader.py").write_text("X = 1\n")
    assert evaluation.ingestion_code_digest(copy) != before


def test_the_corpus_fingerprint_follows_the_files(tmp_path: Path) -> None:
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(b"%PDF-1.4 one")
    first = evaluation.corpus_fingerprint([pdf])
    assert first == evaluation.corpus_fingerprint([pdf])
    pdf.write_bytes(b"%PDF-1.4 one, longer")
    os.utime(pdf, (1_700_000_000, 1_700_000_000))
    assert evaluation.corpus_fingerprint([pdf]) != first


def test_the_corpus_fingerprint_follows_the_chunk_sizes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from techdocs_app.settings import get_settings

    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(b"%PDF-1.4 one")
    first = evaluation.corpus_fingerprint([pdf])
    monkeypatch.setenv("CHUNK_TOKENS", str(get_settings().chunk_tokens + 50))
    get_settings.cache_clear()
    try:
        assert evaluation.corpus_fingerprint([pdf]) != first
    finally:
        monkeypatch.delenv("CHUNK_TOKENS")
        get_settings.cache_clear()
    assert evaluation.corpus_fingerprint([pdf]) == first


@pytest.mark.parametrize(
    ("name", "hidden"),
    [
        ("validate", True),
        ("fresh_questions", True),
        ("fresh2_followups", True),
        ("tune", False),
        ("dev", False),
        ("reworded_questions", False),
    ],
)
def test_held_out_sets_are_aggregates_only(name: str, hidden: bool) -> None:
    assert evaluation.is_hidden(name) is hidden
