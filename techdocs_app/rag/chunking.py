"""Structure-aware chunks: heading paths, whole table rows, parent sections for answer context.

- A *section* is the content under one heading path. It is packed into parent chunks (kind
  "section", at most `parent_tokens`), which are not embedded: the answer step shows them.
- Each parent is cut into child chunks that are embedded and searched. Running text is cut into
  token windows of `chunk_tokens` with `overlap_tokens` overlap, ending at sentence or word
  boundaries. Tables are cut between rows only, and every part starts with the header row.
- A child's *content* fits the MiniLM window of 256 tokens together with its title/path prefix
  (the content budget shrinks when the title/path are long).
- A child's `embed_text` is what the embedder reads: title + heading path + content, tables
  written compactly (cells joined by spaces, not " | "), cut to `EMBED_TEXT_TOKENS` (128) tokens
  including [CLS]/[SEP]. all-MiniLM-L6-v2 was trained on 128-token inputs, and on the eval set
  dense recall is the same as embedding up to 256 tokens while embedding costs ~2.5x less (numbers
  in `build_embed_text`). Full-text search and identifiers still cover the whole content.
- `token_count` is the number of tokens of `content` (MiniLM word pieces).

Output is deterministic: same pages in, same chunks (keys, texts, order) out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from techdocs_app.rag.pdf import Block, PageContent, render_table
from techdocs_app.text.identifiers import extract_identifiers
from techdocs_app.text.wordpiece import EMBEDDER_MAX_TOKENS, count_tokens, get_tokenizer

EMBED_TEXT_TOKENS = 128
"""Token budget of `embed_text`, [CLS]/[SEP] included. Must equal the local embedder's input
length (`providers.local_embed.MAX_INPUT_TOKENS`); changing it changes the embedding model name."""

ChunkKind = Literal["text", "table", "section"]

_CELL_SEP = re.compile(r"(?:^|(?<=\s))\|(?=\s|$)")
"""A " | " cell separator of `render_table` (a "|" standing alone between spaces)."""
_SPECIAL_TOKENS = 2  # [CLS] and [SEP]
_MAX_PREFIX_TOKENS = 64
_MIN_CHILD_BUDGET = 64


@dataclass(slots=True)
class ChunkDraft:
    key: int
    parent_key: int | None
    kind: ChunkKind
    content: str
    embed_text: str
    section_path: list[str]
    page_start: int
    page_end: int
    positions: list[dict] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    token_count: int = 0


@dataclass(slots=True)
class _Item:
    kind: Literal["text", "table"]
    text: str
    page: int
    bbox: tuple[float, float, float, float]
    tokens: int
    rows: list[list[str]] | None = None
    caption: str = ""


@dataclass(slots=True)
class _Section:
    path: list[str]
    items: list[_Item] = field(default_factory=list)


def _position(page: int, bbox: Sequence[float]) -> dict:
    return {
        "page": page,
        "x0": round(bbox[0], 1),
        "y0": round(bbox[1], 1),
        "x1": round(bbox[2], 1),
        "y1": round(bbox[3], 1),
    }


def _table_text(rows: list[list[str]], caption: str) -> str:
    body = render_table(rows)
    return f"{caption}\n{body}" if caption else body


def _sections(pages: Sequence[PageContent]) -> list[_Section]:
    stack: list[tuple[int, str]] = []
    sections: list[_Section] = [_Section(path=[])]
    for page in pages:
        for block in page.blocks:
            if block.kind == "heading":
                while stack and stack[-1][0] >= block.level:
                    stack.pop()
                stack.append((block.level, block.text))
                sections.append(_Section(path=[t for _, t in stack]))
                # The heading also opens the section's text: questions often quote it.
                sections[-1].items.append(
                    _Item("text", block.text, page.number, block.bbox, count_tokens(block.text))
                )
                continue
            sections[-1].items.append(_item(block, page.number))
    return [s for s in sections if any(it.text.strip() for it in s.items)]


def _merge_small(sections: list[_Section], min_tokens: int) -> list[_Section]:
    """Sections shorter than `min_tokens` share a chunk with the following sections.

    Headings-dense pages (feature lists, troubleshooting sheets, PCB label dumps) would otherwise
    produce one tiny child per heading: more vectors to embed, each with too little context.
    The merged section keeps the first heading path (or a sub-heading's deeper path when it
    only continues it); later headings stay in the content.

    A section of `min_tokens` or more that does not continue the small one's path is not merged
    into it: it starts a chunk of its own under its own heading. Merged, a whole chapter ("7 Part
    numbering") went into the few lines ending the previous one (a figure's axis labels) and
    carried that section's heading path. The small one then stays a small chunk (eval corpus:
    1,586 -> 1,671 children, 210 -> 298 under 50 tokens). Eval, dev / tune / reworded questions /
    reworded follow-ups / part numbers, mrr@10 0.904 / 0.792 / 0.726 / 0.817 / 0.805 -> 0.909 /
    0.792 / 0.735 / 0.798 / 0.806, recall@5 of tune 0.920 -> 0.928, of part numbers 0.974 ->
    0.949; false refusals of the reworded questions 0.023 -> 0.035 (two QSFP ER4L rewordings).
    Folding the small one into the section before it instead (1,575 children): 0.899 / 0.789 /
    0.740 / 0.789 / 0.811, reworded false refusals 0.040.
    """
    out: list[_Section] = []
    size = 0
    for sec in sections:
        tokens = sum(it.tokens for it in sec.items)
        continues = bool(out) and sec.path[: len(out[-1].path)] == out[-1].path
        if out and size < min_tokens and (continues or tokens < min_tokens):
            if continues:
                out[-1].path = list(sec.path)  # "3 Maintenance" + "3.1 Bearings": keep the deeper
            out[-1].items.extend(sec.items)
            size += tokens
        else:
            out.append(_Section(path=list(sec.path), items=list(sec.items)))
            size = tokens
    return out


def _item(block: Block, page: int) -> _Item:
    if block.kind == "table" and block.rows:
        text = _table_text(block.rows, block.caption)
        return _Item("table", text, page, block.bbox, count_tokens(text), block.rows, block.caption)
    return _Item("text", block.text, page, block.bbox, count_tokens(block.text))


def _split_text_item(item: _Item, limit: int) -> list[_Item]:
    """An over-long text block becomes consecutive pieces of at most `limit` tokens."""
    if item.tokens <= limit:
        return [item]
    out = []
    for start, end in _windows(item.text, limit, 0):
        piece = item.text[start:end].strip()
        out.append(_Item("text", piece, item.page, item.bbox, count_tokens(piece)))
    return out


def _split_table_item(item: _Item, limit: int) -> list[_Item]:
    """A table larger than `limit` becomes row groups, each with the header row (and caption)."""
    if item.tokens <= limit or not item.rows:
        return [item]
    header, body = item.rows[0], item.rows[1:]
    groups = _row_groups(header, body, item.caption, limit)
    return [
        _Item(
            "table",
            _table_text([header, *g], item.caption),
            item.page,
            item.bbox,
            count_tokens(_table_text([header, *g], item.caption)),
            [header, *g],
            item.caption,
        )
        for g in groups
    ]


def _row_groups(
    header: list[str], body: list[list[str]], caption: str, limit: int
) -> list[list[list[str]]]:
    head_tokens = count_tokens(_table_text([header], caption)) + 1
    encs = get_tokenizer().encode_batch([render_table([r]) for r in body], add_special_tokens=False)
    row_tokens = [len(e.ids) + 1 for e in encs]
    groups: list[list[list[str]]] = []
    cur: list[list[str]] = []
    used = head_tokens
    for row, n in zip(body, row_tokens, strict=True):
        if cur and used + n > limit:
            groups.append(cur)
            cur, used = [], head_tokens
        cur.append(row)
        used += n
    if cur:
        groups.append(cur)
    return groups


def _windows(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of token windows, cut at sentence ends or word starts, with overlap."""
    enc = get_tokenizer().encode(text, add_special_tokens=False)
    offsets = enc.offsets
    n = len(offsets)
    if n == 0:
        return []
    if n <= size:
        return [(0, len(text))]

    def word_start(i: int) -> bool:
        return i == 0 or i >= n or offsets[i][0] > offsets[i - 1][1]

    spans: list[tuple[int, int]] = []
    start = 0
    while start < n:
        end = min(n, start + size)
        if end < n:
            cut = end
            floor = start + int(size * 0.7)
            # Prefer the last sentence end in the final 30% of the window.
            for i in range(end, floor, -1):
                prev = text[offsets[i - 1][0] : offsets[i - 1][1]]
                if prev in {".", ";", "!", "?", ":"} and word_start(i):
                    cut = i
                    break
            else:
                while cut > start + 1 and not word_start(cut):
                    cut -= 1
            end = cut
        spans.append((offsets[start][0], offsets[end - 1][1]))
        if end >= n:
            break
        nxt = max(start + 1, end - overlap)
        while nxt > start + 1 and not word_start(nxt):
            nxt -= 1
        start = nxt
    return spans


def _prefix(title: str, path: Sequence[str], max_tokens: int = _MAX_PREFIX_TOKENS) -> str:
    """Title and heading path as embedded before the content, capped in tokens."""
    parts = [title.strip()] if title.strip() else []
    if path:
        parts.append(" > ".join(path))
    prefix = "\n".join(parts)
    if count_tokens(prefix) <= max_tokens:
        return prefix
    # Keep the nearest heading: it says most about the chunk.
    short = "\n".join(p for p in (title.strip(), path[-1] if path else "") if p)
    return _truncate(short, max_tokens)


def _truncate(text: str, max_tokens: int) -> str:
    """`text` cut at a word-piece boundary so that it has at most `max_tokens` tokens."""
    if max_tokens <= 0:
        return ""
    offsets = get_tokenizer().encode(text, add_special_tokens=False).offsets
    if len(offsets) <= max_tokens:
        return text
    return text[: offsets[max_tokens - 1][1]].rstrip()


def compact_table(content: str) -> str:
    """A table child as embedded: cells joined by single spaces instead of " | " (every word and
    number kept, one row a line). Separators cost a token each and carry no meaning for the model.
    """
    return "\n".join(" ".join(_CELL_SEP.sub(" ", line).split()) for line in content.split("\n"))


def build_embed_text(
    title: str,
    section_path: Sequence[str],
    kind: str,
    content: str,
    *,
    max_tokens: int = EMBED_TEXT_TOKENS,
    compact_tables: bool = True,
    prefix_tokens: int = _MAX_PREFIX_TOKENS,
) -> str:
    """The text the embedder reads for one chunk: prefix + content, at most `max_tokens` tokens
    including [CLS]/[SEP] (the start of the content is kept; the rest is still searched by words).
    """
    prefix = _prefix(title, section_path, min(prefix_tokens, max_tokens // 2))
    body = compact_table(content) if compact_tables and kind == "table" else content
    text = f"{prefix}\n{body}" if prefix else body
    return _truncate(text, max_tokens - _SPECIAL_TOKENS)


def chunk_document(
    pages: Sequence[PageContent],
    *,
    title: str,
    chunk_tokens: int = 200,
    overlap_tokens: int = 40,
    parent_tokens: int = 800,
) -> list[ChunkDraft]:
    """Parent section chunks followed by their child chunks, keys in document order."""
    drafts: list[ChunkDraft] = []
    for section in _merge_small(_sections(pages), min(chunk_tokens, parent_tokens) // 2):
        prefix = _prefix(title, section.path)
        budget = EMBEDDER_MAX_TOKENS - _SPECIAL_TOKENS - count_tokens(prefix) - 2
        budget = max(_MIN_CHILD_BUDGET, min(chunk_tokens, budget))
        overlap = min(overlap_tokens, budget // 3)
        for parent_items in _pack_parents(section.items, parent_tokens):
            parent_key = len(drafts)
            content = "\n".join(it.text for it in parent_items)
            drafts.append(
                ChunkDraft(
                    key=parent_key,
                    parent_key=None,
                    kind="section",
                    content=content,
                    embed_text=f"{prefix}\n{content}" if prefix else content,  # not embedded
                    section_path=list(section.path),
                    page_start=min(it.page for it in parent_items),
                    page_end=max(it.page for it in parent_items),
                    positions=[_position(it.page, it.bbox) for it in parent_items],
                    identifiers=extract_identifiers(content),
                    token_count=count_tokens(content),
                )
            )
            for kind, text, items in _children(parent_items, budget, overlap):
                drafts.append(
                    ChunkDraft(
                        key=len(drafts),
                        parent_key=parent_key,
                        kind=kind,
                        content=text,
                        embed_text=build_embed_text(title, section.path, kind, text),
                        section_path=list(section.path),
                        page_start=min(it.page for it in items),
                        page_end=max(it.page for it in items),
                        positions=[_position(it.page, it.bbox) for it in items],
                        identifiers=extract_identifiers(text),
                        token_count=count_tokens(text),
                    )
                )
    return drafts


def _pack_parents(items: list[_Item], parent_tokens: int) -> list[list[_Item]]:
    pieces: list[_Item] = []
    for it in items:
        if it.kind == "table":
            pieces += _split_table_item(it, parent_tokens)
        else:
            pieces += _split_text_item(it, parent_tokens)
    parents: list[list[_Item]] = []
    cur: list[_Item] = []
    used = 0
    for it in pieces:
        if cur and used + it.tokens + 1 > parent_tokens:
            parents.append(cur)
            cur, used = [], 0
        cur.append(it)
        used += it.tokens + 1
    if cur:
        parents.append(cur)
    return parents


def _children(
    items: list[_Item], budget: int, overlap: int
) -> list[tuple[ChunkKind, str, list[_Item]]]:
    out: list[tuple[ChunkKind, str, list[_Item]]] = []
    run: list[_Item] = []

    def flush_text() -> None:
        if not run:
            return
        stream = ""
        spans: list[tuple[int, int, _Item]] = []
        for it in run:
            if stream:
                stream += "\n"
            spans.append((len(stream), len(stream) + len(it.text), it))
            stream += it.text
        for a, b in _windows(stream, budget, overlap):
            text = stream[a:b].strip()
            if not text:
                continue
            covered = [it for s, e, it in spans if s < b and e > a]
            out.append(("text", text, covered))
        run.clear()

    for it in items:
        if it.kind == "table":
            flush_text()
            if it.tokens <= budget or not it.rows:
                out.append(("table", it.text, [it]))
                continue
            header, body = it.rows[0], it.rows[1:]
            for group in _row_groups(header, body, it.caption, budget):
                text = _table_text([header, *group], it.caption)
                if count_tokens(text) > budget:  # one huge row: cut it like text
                    for a, b in _windows(text, budget, overlap):
                        out.append(("table", text[a:b].strip(), [it]))
                else:
                    out.append(("table", text, [it]))
        else:
            run.append(it)
    flush_text()
    return out
