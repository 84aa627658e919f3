"""Chunk shapes on hand-built pages: paths, sizes, overlap, table parts, parents, determinism."""

from __future__ import annotations

from techdocs_app.rag.chunking import EMBED_TEXT_TOKENS, chunk_document
from techdocs_app.rag.pdf import Block, PageContent, render_table
from techdocs_app.text.wordpiece import EMBEDDER_MAX_TOKENS, count_tokens

SENTENCE = "The spindle bearing preload is checked with a dial indicator before every run. "


def _page(number: int, blocks: list[Block]) -> PageContent:
    return PageContent(number=number, width=612, height=792, blocks=blocks)


def _text(text: str, y: float = 100) -> Block:
    return Block(kind="text", text=text, bbox=(72, y, 540, y + 40))


def _heading(text: str, level: int) -> Block:
    return Block(kind="heading", text=text, level=level, bbox=(72, 50, 400, 64))


def _table(rows: list[list[str]]) -> Block:
    return Block(kind="table", text=render_table(rows), rows=rows, bbox=(72, 300, 540, 700))


def _doc() -> list[PageContent]:
    rows = [["Code", "Meaning", "Action"]] + [
        [f"E{300 + i}", f"Fault number {i} of the drive unit", f"Replace module M{i}"]
        for i in range(60)
    ]
    return [
        _page(
            1,
            [_heading("3 Maintenance", 1), _heading("3.1 Bearings", 2), _text(SENTENCE * 30, 100)],
        ),
        _page(2, [_text(SENTENCE * 10, 80), _heading("3.2 Fault codes", 2), _table(rows)]),
    ]


def test_heading_paths_and_parent_links() -> None:
    chunks = chunk_document(_doc(), title="Lathe manual")
    children = [c for c in chunks if c.kind != "section"]
    parents = {c.key: c for c in chunks if c.kind == "section"}
    assert {tuple(c.section_path) for c in children} == {
        ("3 Maintenance", "3.1 Bearings"),
        ("3 Maintenance", "3.2 Fault codes"),
    }
    for c in children:
        parent = parents[c.parent_key]
        assert parent.section_path == c.section_path
        assert parent.token_count <= 800
        assert c.content.splitlines()[-1] in parent.content
        assert c.embed_text.startswith("Lathe manual\n3 Maintenance > ")
        assert count_tokens(c.embed_text) + 2 <= EMBED_TEXT_TOKENS
        # Children are sized for the 256-token window; embed texts are cut to fewer tokens.
        assert count_tokens(c.content) + 2 <= EMBEDDER_MAX_TOKENS


def test_text_children_are_sized_and_overlap() -> None:
    chunks = chunk_document(_doc(), title="Lathe manual", chunk_tokens=120, overlap_tokens=30)
    text = [c for c in chunks if c.kind == "text" and c.section_path[-1] == "3.1 Bearings"]
    assert len(text) >= 4
    assert all(c.token_count <= 120 for c in text)
    for a, b in zip(text, text[1:], strict=False):
        if a.parent_key == b.parent_key:
            tail = a.content.split()[-4:]
            assert " ".join(tail) in b.content  # overlap carries the end of the previous chunk
    # Spans pages 1-2 where the section continues.
    assert max(c.page_end for c in text) == 2


def test_tables_split_between_rows_with_the_header_repeated() -> None:
    chunks = chunk_document(_doc(), title="Lathe manual")
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) >= 2
    seen: list[str] = []
    for c in tables:
        lines = c.content.splitlines()
        assert lines[0] == "Code | Meaning | Action"
        assert all(line.count(" | ") == 2 for line in lines)  # whole rows only
        seen += lines[1:]
        assert c.page_start == c.page_end == 2
        assert c.positions == [{"page": 2, "x0": 72, "y0": 300, "x1": 540, "y1": 700}]
    assert len(seen) == 60 and len(set(seen)) == 60
    e305 = next(c for c in tables if "E305 |" in c.content)
    assert "E305" in e305.identifiers and "M5" in e305.identifiers


def test_long_titles_and_paths_still_fit_the_embedder() -> None:
    long_path = [f"Heading level {i} " + "with many descriptive words " * 6 for i in range(1, 4)]
    pages = [
        _page(1, [_heading(h, i + 1) for i, h in enumerate(long_path)] + [_text(SENTENCE * 20)])
    ]
    chunks = chunk_document(pages, title="A very long manual title " * 10)
    for c in chunks:
        if c.kind != "section":
            assert count_tokens(c.embed_text) + 2 <= EMBED_TEXT_TOKENS
            assert count_tokens(c.content) + 2 <= EMBEDDER_MAX_TOKENS


def test_output_is_deterministic() -> None:
    a = chunk_document(_doc(), title="Lathe manual")
    b = chunk_document(_doc(), title="Lathe manual")
    assert a == b
    assert [c.key for c in a] == list(range(len(a)))
