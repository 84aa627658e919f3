"""Offline yardstick for embed texts: dense-only retrieval quality and embedding cost, no database.

Used to choose how `ChunkDraft.embed_text` is built and how much of it the local embedder reads
(see `chunking.EMBED_TEXT_TOKENS`). It scores every answerable question of the eval set
(`/work/shared/eval/dev.jsonl`) against the embedded child chunks of the eval corpus:

- a *hit* is a child chunk of the question's `doc` whose page range meets one of its `pages`;
- follow-ups are searched with their parent question prepended (recursively, for chains), as the
  eval README's baseline does;
- recall@5, recall@20 and MRR@10 are computed by exact cosine search (vectors are normalised).

Nothing here runs in the app; `python -m techdocs_app.rag.embed_quality --help` runs a comparison
(with whatever model `providers.local_embed` is set to use).

Measured 2025-11-24 on the eval corpus (1,596 children, 72 answerable questions). CPU seconds are
for the whole corpus with one intra-op thread (the machine was shared, load 4-8, so wall times
were not comparable; CPU time is). "fp32" is the shipped model file, "dyn-int8" the derived one.

    variant                     r@5    r@20   mrr@10  tokens/chunk  corpus CPU s
    fp32, 256, plain tables     0.861  0.972  0.712   168           118-126
    fp32, 256, compact tables   0.861  0.972  0.727   159           -
    fp32, 128, plain tables     0.917  0.972  0.781   118           72-76
    fp32, 128, compact tables   0.917  0.972  0.796   117           70-74
    fp32, 128, prefix <= 32     0.875  0.958  0.763   112           -
    fp32, 96, compact tables    0.861  0.931  0.742    91           53-55
    fp32, 64, compact tables    0.792  0.917  0.634    63           33-35
    dyn-int8 per-tensor, 128    0.861  0.944  0.771   117           47
    dyn-int8 per-channel, 128   0.944  0.972  0.802   117           45  (chosen)
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    query: str
    doc: str
    pages: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChunkRef:
    """Where a searchable child chunk sits: enough to judge a hit."""

    doc: str
    page_start: int
    page_end: int


@dataclass(frozen=True, slots=True)
class DenseMetrics:
    n: int
    recall_at_5: float
    recall_at_20: float
    mrr_at_10: float
    misses_at_5: tuple[str, ...]


def load_questions(path: str | Path) -> list[Question]:
    """Answerable questions; a follow-up's query is its parent's query, then its own text."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    by_id = {r["id"]: r for r in rows}

    def query(row: dict) -> str:
        parent = row.get("followup_of")
        if parent and parent in by_id:
            return f"{query(by_id[parent])} {row['question']}"
        return row["question"]

    return [
        Question(r["id"], query(r), r["doc"], tuple(r.get("pages") or ()))
        for r in rows
        if r.get("doc")
    ]


def is_hit(chunk: ChunkRef, question: Question) -> bool:
    return chunk.doc == question.doc and any(
        chunk.page_start <= p <= chunk.page_end for p in question.pages
    )


def dense_metrics(
    chunks: Sequence[ChunkRef],
    chunk_vectors: np.ndarray,
    questions: Sequence[Question],
    query_vectors: np.ndarray,
) -> DenseMetrics:
    """Exact top-k by cosine (dot product of normalised vectors); ties keep chunk order."""
    scores = (
        np.asarray(query_vectors, dtype=np.float32) @ np.asarray(chunk_vectors, dtype=np.float32).T
    )
    r5 = r20 = mrr = 0.0
    misses: list[str] = []
    for qi, q in enumerate(questions):
        top = np.argsort(-scores[qi], kind="stable")[:20]
        ranks = [rank for rank, ci in enumerate(top, start=1) if is_hit(chunks[ci], q)]
        first = ranks[0] if ranks else None
        r5 += first is not None and first <= 5
        r20 += first is not None
        mrr += 1.0 / first if first is not None and first <= 10 else 0.0
        if first is None or first > 5:
            misses.append(q.id)
    n = max(len(questions), 1)
    return DenseMetrics(len(questions), r5 / n, r20 / n, mrr / n, tuple(misses))


# ---- the comparison run ------------------------------------------------------------------------


def _load_corpus(corpus: Path, cache: Path) -> dict[str, tuple[str, list]]:
    """{file stem: (title, pages)}; extraction is slow, so pages are pickled in `cache`."""
    if cache.exists():
        with cache.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache file
    from techdocs_app.rag.ingest import document_title
    from techdocs_app.rag.pdf import extract_document, inspect_pdf

    out = {}
    for pdf in sorted(corpus.glob("*.pdf")):
        info = inspect_pdf(pdf.read_bytes())
        out[pdf.stem] = (document_title(pdf.name, info.title), extract_document(pdf, workers=2))
    with cache.open("wb") as fh:
        pickle.dump(out, fh)
    return out


Variant = tuple[int, Callable[[str, object], str]]
"""(embedder input tokens, embed text builder taking (title, draft))."""


def _variants() -> dict[str, Variant]:
    from techdocs_app.rag.chunking import build_embed_text

    def make(max_tokens: int, **kw: object) -> Variant:
        def build(title: str, d: object) -> str:
            return build_embed_text(
                title,
                d.section_path,  # type: ignore[attr-defined]
                d.kind,  # type: ignore[attr-defined]
                d.content,  # type: ignore[attr-defined]
                max_tokens=max_tokens,
                **kw,  # type: ignore[arg-type]
            )

        return max_tokens, build

    return {
        "full256": make(256, compact_tables=False),
        "compact256": make(256, compact_tables=True),
        "trunc128": make(128, compact_tables=False),
        "compact128": make(128, compact_tables=True),
        "compact128-p32": make(128, compact_tables=True, prefix_tokens=32),
        "compact96": make(96, compact_tables=True),
        "compact64": make(64, compact_tables=True),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("/work/shared/eval/corpus"))
    parser.add_argument("--questions", type=Path, default=Path("/work/shared/eval/dev.jsonl"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/techdocs_eval_pages.pkl"))
    parser.add_argument("--variants", default="", help="comma-separated names (default: all)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per variant")
    args = parser.parse_args(argv)

    from techdocs_app.providers.local_embed import LocalEmbedder
    from techdocs_app.rag.chunking import chunk_document
    from techdocs_app.text.wordpiece import get_tokenizer

    corpus = _load_corpus(args.corpus, args.cache)
    refs: list[ChunkRef] = []
    drafts: list[tuple[str, object]] = []
    for stem, (title, pages) in corpus.items():
        for d in chunk_document(pages, title=title):
            if d.kind != "section":
                refs.append(ChunkRef(stem, d.page_start, d.page_end))
                drafts.append((title, d))
    questions = load_questions(args.questions)
    variants = _variants()
    names = [v for v in args.variants.split(",") if v] or list(variants)
    print(f"{len(refs)} children, {len(questions)} answerable questions")
    for name in names:
        max_tokens, build = variants[name]
        texts = [build(title, d) for title, d in drafts]
        embedder = LocalEmbedder(max_tokens=max_tokens)
        embedder.warm_up()
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            vectors = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
            times.append(time.perf_counter() - t0)
        qv = np.asarray([embedder.embed_query(q.query) for q in questions], dtype=np.float32)
        m = dense_metrics(refs, vectors, questions, qv)
        best = min(times)
        tokens = sum(len(e.ids) for e in get_tokenizer().encode_batch(texts))
        print(
            f"{name:16s} {tokens / len(texts):.0f} tok/chunk r@5 {m.recall_at_5:.3f} r@20 {m.recall_at_20:.3f} "
            f"mrr@10 {m.mrr_at_10:.3f} embed {'/'.join(f'{t:.1f}' for t in times)} s "
            f"{len(texts) / best:.0f} chunks/s misses@5 {','.join(m.misses_at_5)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
