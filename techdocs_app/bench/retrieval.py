"""`bench retrieval --chunks N`: hybrid_search at N chunks vs the seed's full-scan query.

Data: the eval corpus's real chunks and real vectors (ingested through the real pipeline into the
eval scratch organization when missing), replicated to N rows for one scratch organization with a
small random perturbation of each vector (re-normalised), plus several other organizations' rows
so that the organization filter matters. Rows go in with COPY and the HNSW index is built once
afterwards. The rows live in their own database (`<db>_bench` on the embedded Postgres) so a
benchmark never bloats or locks the application's tables; it is reused while N and the source
chunks are unchanged.

Measured in one run: hybrid_search latency over >= 100 queries (p50/p95), the seed's query (score
every row of the organization with `1 - (embedding <=> q)` and `similarity()`), and recall@20 of
the fused top 20 against the same statement computed exactly (index scans disabled, so the vector
arm is an exact sort). Last line:
`bench-retrieval: chunks=N p50_ms=… p95_ms=… naive_p50_ms=… speedup=… recall@20=…`
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "eval"
BENCH_ORG_PREFIX = "bench-retrieval"
OTHER_ORGS = 3
NOISE_STD = 0.012
"""Per-dimension noise; about 0.97 cosine between a replica and its source vector."""

NAIVE_SQL = """
SELECT c.id,
       0.7 * (1 - (c.embedding <=> CAST(:qv AS vector))) + 0.3 * similarity(c.content, :q) AS score
FROM chunks c
WHERE c.org_id = :org_id AND c.embedding IS NOT NULL
ORDER BY score DESC
LIMIT 20
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunks", type=int, default=100_000, help="rows in the benchmark org")
    parser.add_argument("--queries", type=int, default=120, help="timed hybrid_search queries")
    parser.add_argument(
        "--naive-queries", type=int, default=12, help="timed runs of the seed's full-scan query"
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS / "corpus")
    parser.add_argument("--questions", type=Path, default=DEFAULT_CORPUS / "dev.jsonl")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the benchmark rows")
    parser.add_argument("--seed", type=int, default=7)


@dataclass
class SourceChunk:
    kind: str
    page_start: int
    page_end: int
    section_path: str
    heading: str
    content: str
    identifiers: str
    positions: str
    token_count: int
    embedding: np.ndarray
    document: str


def _load_source_chunks(corpus: Path, embed_model: str) -> list[SourceChunk]:
    """The eval corpus's searchable chunks (ingested into the eval scratch org when missing)."""
    from sqlalchemy import text

    from techdocs_app.db.engine import get_engine
    from techdocs_app.rag import evaluation

    files = evaluation.corpus_files(corpus)
    principal = evaluation.scratch_principal(evaluation.corpus_fingerprint(files))
    evaluation.ingest_corpus(principal, files)
    with get_engine().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.kind, c.page_start, c.page_end, c.section_path, c.heading, c.content, "
                "c.identifiers, c.positions, c.token_count, c.embedding, d.filename "
                "FROM chunks c JOIN documents d ON d.id = c.document_id "
                "WHERE c.org_id = :org_id AND c.embedding IS NOT NULL "
                "AND c.embed_model = :model ORDER BY c.id"
            ),
            {"org_id": principal.org_id, "model": embed_model},
        ).all()
    return [
        SourceChunk(
            kind=r.kind,
            page_start=r.page_start,
            page_end=r.page_end,
            section_path=json.dumps(r.section_path or []),
            heading=r.heading or "",
            content=r.content,
            identifiers=r.identifiers or "",
            positions=json.dumps(r.positions or []),
            token_count=r.token_count or 0,
            embedding=np.asarray(
                json.loads(r.embedding) if isinstance(r.embedding, str) else r.embedding,
                dtype=np.float32,
            ),
            document=r.filename,
        )
        for r in rows
    ]


def _use_bench_database() -> str:
    """Point settings and the engine at the benchmark database (created and migrated if new)."""
    from techdocs_app import embedded
    from techdocs_app.db.engine import get_engine
    from techdocs_app.db.migrate import upgrade_head
    from techdocs_app.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        # An external database: benchmark in it (rows are org-scoped and removed on rebuild).
        return settings.database_url
    name = f"{settings.pg_database}_bench"
    embedded.ensure_database(settings, name)
    url = f"postgresql+psycopg://{settings.pg_user}@127.0.0.1:{settings.pg_port}/{name}"
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade_head(url)
    return url


def _fingerprint(source: list[SourceChunk], n: int) -> str:
    import hashlib

    digest = hashlib.sha256(f"{n}:{len(source)}".encode())
    for chunk in source[:50]:
        digest.update(chunk.content[:200].encode())
    return digest.hexdigest()[:10]


def _existing_bench_org(name: str, n: int) -> int | None:
    from sqlalchemy import text

    from techdocs_app.db.engine import get_engine

    with get_engine().connect() as conn:
        row = conn.execute(
            text("SELECT id FROM organizations WHERE name = :name"), {"name": name}
        ).first()
        if row is None:
            return None
        count = conn.execute(
            text("SELECT count(*) FROM chunks WHERE org_id = :org_id"), {"org_id": row.id}
        ).scalar_one()
        valid = conn.execute(
            text(
                "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = 'ix_chunks_embedding_hnsw' AND i.indisvalid"
            )
        ).scalar_one()
    return int(row.id) if count == n and valid else None


def _build(
    source: list[SourceChunk], n: int, name: str, embed_model: str, rng: np.random.Generator
) -> int:
    """Insert the benchmark orgs with COPY, then build the HNSW index once."""
    from sqlalchemy import text

    from techdocs_app.db.engine import get_engine

    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM organizations WHERE name LIKE :prefix"),
            {"prefix": f"{BENCH_ORG_PREFIX}-%"},
        )
        conn.execute(text("DROP INDEX IF EXISTS ix_chunks_embedding_hnsw"))
    documents = sorted({c.document for c in source})
    other_n = max(len(source), n // 10)
    plan = [(name, n)] + [(f"{name}-other{i}", other_n) for i in range(1, OTHER_ORGS + 1)]
    main_org = 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for org_name, count in plan:
            cur.execute(
                "INSERT INTO organizations (name, plan, seat_limit, index_version) "
                "VALUES (%s, 'trial', 5, 0) RETURNING id",
                (org_name,),
            )
            org_id = int(cur.fetchone()[0])
            main_org = main_org or org_id
            doc_ids: dict[str, int] = {}
            for filename in documents:
                cur.execute(
                    "INSERT INTO documents (org_id, filename, title, sha256, size_bytes, pages, "
                    "pages_done, chunk_count, ocr_pages, status, embed_model, storage_key) "
                    "VALUES (%s, %s, %s, %s, 0, 0, 0, 0, 0, 'ready', %s, '') RETURNING id",
                    (
                        org_id,
                        filename,
                        Path(filename).stem,
                        f"bench-{org_id}-{filename}",
                        embed_model,
                    ),
                )
                doc_ids[filename] = int(cur.fetchone()[0])
            started = time.perf_counter()
            with cur.copy(
                "COPY chunks (org_id, document_id, ordinal, kind, page_start, page_end, "
                "section_path, heading, content, identifiers, positions, token_count, "
                "embed_model, embedding) FROM STDIN"
            ) as copy:
                for i in range(count):
                    src = source[i % len(source)]
                    vec = src.embedding
                    if i >= len(source):
                        vec = vec + rng.normal(0.0, NOISE_STD, vec.shape).astype(np.float32)
                        vec = vec / np.linalg.norm(vec)
                    copy.write_row(
                        (
                            org_id,
                            doc_ids[src.document],
                            i,
                            src.kind,
                            src.page_start,
                            src.page_end,
                            src.section_path,
                            src.heading,
                            src.content,
                            src.identifiers,
                            src.positions,
                            src.token_count,
                            embed_model,
                            "[" + ",".join(f"{x:.6f}" for x in vec) + "]",
                        )
                    )
            raw.commit()
            print(f"  {org_name}: {count} rows copied in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute(
            "CREATE INDEX ix_chunks_embedding_hnsw ON chunks USING hnsw "
            "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        )
        raw.commit()
        print(f"  HNSW index built in {time.perf_counter() - started:.1f}s")
        cur.execute("ANALYZE chunks")
        raw.commit()
    finally:
        raw.close()
    return main_org


def _queries(questions: Path, source: list[SourceChunk], count: int, seed: int) -> list[str]:
    texts = []
    if questions.exists():
        for line in questions.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["question"])
    rnd = random.Random(seed)
    while len(texts) < count:
        chunk = rnd.choice(source)
        words = chunk.content.split()
        start = rnd.randrange(max(1, len(words) - 12))
        texts.append(" ".join(words[start : start + 10]))
    return texts[:count]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _exact_top(params: dict[str, Any]) -> list[int]:
    from sqlalchemy import text

    from techdocs_app.db.engine import get_engine
    from techdocs_app.rag.retrieve import HYBRID_SQL

    with get_engine().connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        rows = conn.execute(text(HYBRID_SQL), params).all()
    return [int(r.chunk_id) for r in rows]


def _naive_ms(org_id: int, query: str, vector: list[float]) -> float:
    from sqlalchemy import text

    from techdocs_app.db.engine import get_engine
    from techdocs_app.rag.retrieve import vector_literal

    with get_engine().connect() as conn:
        started = time.perf_counter()
        conn.execute(
            text(NAIVE_SQL), {"qv": vector_literal(vector), "q": query, "org_id": org_id}
        ).all()
        return (time.perf_counter() - started) * 1000


def run(args: argparse.Namespace) -> int:
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.retrieve import hybrid_search, search_params

    n = int(args.chunks)
    embedder = get_embedder()
    print(f"source: eval corpus {args.corpus} (embedder {embedder.model_name})")
    source = _load_source_chunks(args.corpus, embedder.model_name)
    if not source:
        print("error: the eval corpus produced no searchable chunks")
        return 2
    print(f"source: {len(source)} real chunks with vectors")
    url = _use_bench_database()
    print(f"database: {url.rsplit('@', 1)[-1]}")
    name = f"{BENCH_ORG_PREFIX}-{n}-{_fingerprint(source, n)}"
    org_id = None if args.rebuild else _existing_bench_org(name, n)
    if org_id is None:
        print(f"building {name}: {n} rows + {OTHER_ORGS} other organizations")
        org_id = _build(source, n, name, embedder.model_name, np.random.default_rng(args.seed))
    else:
        print(f"reusing {name} (org {org_id})")

    queries = _queries(args.questions, source, max(100, args.queries), args.seed)
    vectors = [embedder.embed_query(q) for q in queries]
    for q, v in list(zip(queries, vectors, strict=True))[:5]:  # warm caches and the plan
        hybrid_search(org_id=org_id, query=q, query_vector=v, embed_model=embedder.model_name)

    latencies: list[float] = []
    recalls: list[float] = []
    for q, v in zip(queries, vectors, strict=True):
        started = time.perf_counter()
        hits = hybrid_search(
            org_id=org_id, query=q, query_vector=v, k=20, embed_model=embedder.model_name
        )
        latencies.append((time.perf_counter() - started) * 1000)
        exact = _exact_top(
            search_params(
                org_id=org_id,
                query=q,
                query_vector=v,
                embed_model=embedder.model_name,
                document_ids=None,
                k=20,
            )
        )
        if exact:
            got = {h.chunk_id for h in hits}
            recalls.append(len(got & set(exact)) / len(exact))

    naive: list[float] = []
    for q, v in list(zip(queries, vectors, strict=True))[: max(1, args.naive_queries)]:
        naive.append(_naive_ms(org_id, q, v))

    p50 = statistics.median(latencies)
    p95 = _percentile(latencies, 0.95)
    naive_p50 = statistics.median(naive)
    recall = statistics.mean(recalls) if recalls else 0.0
    print(
        f"hybrid_search: {len(latencies)} queries, p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(latencies):.1f} ms"
    )
    print(f"seed full scan: {len(naive)} queries, p50 {naive_p50:.0f} ms")
    print(
        f"bench-retrieval: chunks={n} p50_ms={p50:.1f} p95_ms={p95:.1f} "
        f"naive_p50_ms={naive_p50:.0f} speedup={naive_p50 / p50:.0f} recall@20={recall:.3f}"
    )
    return 0
