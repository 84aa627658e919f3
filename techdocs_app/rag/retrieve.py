"""Hybrid search: one parameterised SQL statement, three arms, weighted reciprocal rank fusion.

Arms (each org-scoped, each limited to searchable chunks — kind text/table, an embedding from the
query embedder's model — and to the optional document filter):

- vector: HNSW cosine (`hnsw.iterative_scan = relaxed_order` so the org filter still yields k rows;
  re-sorted by exact distance afterwards because relaxed order may be slightly out of order);
- keyword: `websearch_to_tsquery('english', ...)` over the generated tsvector (headings and
  identifiers weight A, body weight B), ranked with `ts_rank_cd`. The question's words are joined
  with `or`: a natural-language question ANDed word by word would match almost nothing. But at
  100k chunks the OR of a question's words matches a third of the organization, and ranking them
  all costs ~0.5 s, so candidates are selected through the GIN index by the question's *rarer*
  words only (lexeme frequencies from the planner statistics, `pg_stats` for chunks.tsv and the
  organization's share of chunks.org_id): rarest first while the expected count stays within
  KEYWORD_BUDGET; if even the rarest word is common, the AND of the rarest words. A one-time
  filter adds the matches of the three rarest words only when that finds fewer than an arm's
  worth. At most the
  KEYWORD_POOL best candidates by ts_rank are kept (then the lowest ids), ts_rank's best RANK_POOL
  of those go on and ts_rank_cd (six times costlier) orders them. A small organization, or a table not yet analysed, expects few rows for
  every word and so selects with all of them: the full OR query, as before;
- identifier: the part numbers/codes found in the query (`text.identifiers.query_identifiers`)
  matched as whole tokens of the `identifiers` column with a case-insensitive regex, which the
  trigram GIN index serves (pg_trgm cannot use the index for `ILIKE ANY(array)`); at most
  IDENTIFIER_POOL matches are ranked, the strongest first (see IDENTIFIER_POOL), by identifiers
  matched, then the keyword score. A family prefix of a long code counts FAMILY_PREFIX_WEIGHT of
  an identifier of the query. Each matched
  identifier counts by its rarity in its manual: the model name found in most of the manual's
  chunks says which manual, not which passage, so it counts IDENTIFIER_COMMON_FLOOR of a rare
  one ("E302"), and a chunk's arm weight is that of its rarest match.

Fusion: score = sum over arms of weight_arm / (rrf_k + rank_arm). Whole-chunk `similarity()` and
full scans are never used: every arm is an index scan (see `explain_hybrid_search`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from techdocs_app.db.engine import get_engine
from techdocs_app.settings import get_settings

ARM_MIN_K = 40
"""Each arm contributes at least this many candidates to the fusion."""

KEYWORD_BUDGET = 1000
"""Expected full-text candidates the keyword arm may select by its rarer words (see HYBRID_SQL)."""

KEYWORD_POOL = 1000
"""Hard cap on the candidates the keyword arm ranks (bounds its cost): the best by ts_rank, then
the lowest ids, so the pool is the same whatever order the planner reads the matches in (before,
a bare LIMIT kept the first matches read). Each match's ts_rank is computed once, in the pool,
and the arm's RANK_POOL are taken by it, so a pool that is not full costs one sort of at most
this many rows more; a full one (the planner statistics underestimated the rare words) reads
all matches. Measured with `bench retrieval --chunks 100000`, alternated on the same bench
database, load average 2-4 from other work: bare LIMIT p50 27.1 / 19.1 / 22.0 ms (p95 92 / 67 /
75 ms), ordered 23.8 / 21.7 / 21.1 ms (p95 80 / 98 / 68 ms), recall@20 0.953 in all six: no
cost beyond the machine's spread. On the eval corpus a pool does fill (a small organization
selects with the full OR query): 22 of the 575 questions of the five tuning sets see other
candidates below their first relevant one, no outcome or rank changes, and every set's figures
are the same but tune's median_words 54 -> 55."""

RANK_POOL = 120
"""Candidates per full-text-ranked arm that ts_rank passes on to the costlier ts_rank_cd."""

IDENTIFIER_COMMON_FLOOR = 0.3
"""How much an identifier found in every chunk of its manual still counts in the identifier arm
(1.0: as much as a rare one, the arm before rarity weighting; fitted on the tune set)."""

IDENTIFIER_POOL = 300
"""Hard cap on the identifier matches the identifier arm ranks (a model name in every heading of
its manual matches thousands of chunks in a large organization). The pool takes the strongest
matches (the summed weights of the query identifiers a chunk holds as whole tokens), then the
lowest ids: the same pool whatever order the planner reads the matches in (before, a bare LIMIT
kept the first matches read). On the eval corpus no pool is full: the tuning sets' figures are
the same with and without the order."""

FAMILY_PREFIX_WEIGHT = 1.0
"""How much a code's family prefix ('STM32F103' of 'STM32F103RET6', `text.identifiers.
family_prefixes`) counts in the identifier arm, against 1.0 for an identifier of the query.
Measured at 0.5 (a reviewer's suggestion): dev mrr@10 0.909 -> 0.897 (recall@5 0.986 -> 0.972),
part_numbers 0.806 -> 0.784 (recall@5 0.949 -> 0.923), tune, rewordings unchanged: the family's
ordering scheme and device tables are what an order-code question asks for, so full weight."""

TS_RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
"""ts_rank(_cd) weights for D, C, B, A: heading/identifier words (A) count 2.5x body words (B)."""

TS_RANK_NORMALIZATION = 1
"""ts_rank(_cd) normalisation 1: divide by 1 + log(length), so long chunks don't win by size alone."""

_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+/_-]*[A-Za-z0-9+]|[A-Za-z0-9]")
_WEBSEARCH_OPERATORS = frozenset({"or", "and", "not"})


@dataclass
class SearchHit:
    chunk_id: int
    document_id: int
    document_title: str
    filename: str
    page_start: int
    page_end: int
    heading: str
    section_path: list[str]
    content: str
    kind: str
    parent_id: int | None
    positions: list[dict[str, Any]]
    identifiers: list[str]
    score: float
    """Fused (weighted RRF) score."""
    vector_rank: int | None = None
    keyword_rank: int | None = None
    identifier_rank: int | None = None
    vector_similarity: float = 0.0
    """Cosine similarity of this chunk to the query (computed for every returned hit)."""
    keyword_score: float = 0.0
    """ts_rank_cd of this chunk for the keyword query (0 when it does not match)."""
    extra: dict[str, Any] = field(default_factory=dict)


def keyword_query(query: str) -> str:
    """The websearch_to_tsquery input: the query's words joined with `or`.

    Quotes and leading `-` (websearch's phrase and negation syntax) are dropped so that a question
    can never turn into an exclusion; the english config drops stopwords itself.
    """
    words: list[str] = []
    seen: set[str] = set()
    for match in _WORD_RE.finditer(query):
        word = match.group(0).strip("-._/")
        low = word.lower()
        if not word or low in _WEBSEARCH_OPERATORS or low in seen:
            continue
        seen.add(low)
        words.append(word)
    return " or ".join(words[:64])


PREFIX_MATCH_MIN_CHARS = 6


def identifier_regex(identifiers: Sequence[str], exact: Sequence[str] = ()) -> str | None:
    """A Postgres ARE matching any identifier as a whole space-separated token (None if none);
    `exact`: more identifiers matched as written only (a code's family prefixes)."""
    cleaned = sorted({i.strip() for i in identifiers if i and i.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alternatives = [
        re.sub(r"([^A-Za-z0-9])", r"\\\1", ident)
        # A long code also finds its variants: "STM32F103" matches "STM32F103RCT6" (exact
        # matches still rank first through `hits`). Short codes ("E1") stay exact.
        + ("[A-Za-z0-9]*" if len(ident) >= PREFIX_MATCH_MIN_CHARS else "")
        for ident in cleaned[:32]
    ]
    alternatives += [
        re.sub(r"([^A-Za-z0-9])", r"\\\1", ident)
        for ident in dict.fromkeys(e.strip() for e in exact)
        if ident and ident not in cleaned
    ][:32]
    return f"(^| )({'|'.join(alternatives)})( |$)"


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


# The statements below are composed once, at import, from these module constants only; every
# value a request brings is a bound parameter (hence the S608 exemptions).
SEARCHABLE_SQL = """
      c.org_id = :org_id
      AND c.kind IN ('text', 'table')
      AND c.embedding IS NOT NULL
      AND c.embed_model = :embed_model
      AND (CAST(:document_ids AS bigint[]) IS NULL
           OR c.document_id = ANY (CAST(:document_ids AS bigint[])))
"""
"""The WHERE conditions every arm shares: the organization, searchable kinds with an embedding of
the query embedder's model, and the optional document filter."""

VECTOR_ARM_SQL = (
    """
vector_arm AS MATERIALIZED (
    SELECT c.id, c.embedding <=> CAST(:query_vector AS vector) AS distance
    FROM tenant_chunks c
    WHERE"""  # noqa: S608 - constants only, see above
    + SEARCHABLE_SQL
    + """
    ORDER BY c.embedding <=> CAST(:query_vector AS vector)
    LIMIT :arm_k
)
"""
)
"""The vector arm, shared by HYBRID_SQL and VECTOR_ARM_IDS_SQL (`vector_arm_ids` runs it alone for
the benchmark's recall)."""

VECTOR_ARM_IDS_SQL = (
    "\nWITH" + VECTOR_ARM_SQL + "SELECT id FROM vector_arm ORDER BY distance, id\n"  # noqa: S608
)

HYBRID_SQL = (
    "\nWITH"  # noqa: S608 - constants only, see SEARCHABLE_SQL
    + VECTOR_ARM_SQL.rstrip("\n")
    + """,
vector_ranked AS (
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM vector_arm
),
-- Keyword arm (see the module docstring). Candidates are selected through the GIN index by the
-- question's rarer words, from the lexeme frequencies ANALYZE keeps for chunks.tsv and this
-- organization's share of the table: rarest first while the expected count stays within
-- :kw_budget, or, when even the rarest word is common, the AND of the rarest words until the
-- expected count is within it. At most :kw_pool candidates, ranked against the full OR query.
-- pg_stats hides a table's statistics from a role that row-level security applies to: these two
-- functions (db.rls) read them as the owner and return only this organization's share of the
-- table and the frequencies of the question's own lexemes.
org_share AS MATERIALIZED (
    SELECT search_chunk_org_rows() AS org_rows
),
tsv_stats AS MATERIALIZED (
    -- most_common_elem_freqs lists one frequency per element, then the minimum of those.
    SELECT s.elems, s.freqs
    FROM search_lexeme_stats(tsvector_to_array(to_tsvector('english', :keyword_query))) AS s
),
kw_terms AS MATERIALIZED (
    -- A word missing from the statistics is rarer than the rarest word they keep: half that.
    SELECT w.lexeme, w.freq, w.freq * (SELECT org_rows FROM org_share) AS est
    FROM (
        SELECT t.lexeme,
               coalesce(s.freqs[array_position(s.elems, t.lexeme)],
                        s.freqs[cardinality(s.elems) + 1] / 2, 0) AS freq
        FROM unnest(tsvector_to_array(to_tsvector('english', :keyword_query))) AS t(lexeme)
        LEFT JOIN tsv_stats s ON true
    ) AS w
),
kw_ordered AS MATERIALIZED (
    SELECT lexeme, est,
           row_number() OVER w AS n,
           sum(est) OVER w AS running_est,
           (SELECT org_rows FROM org_share)
             * exp(sum(ln(greatest(freq, 1e-9))) OVER w) AS and_est
    FROM kw_terms
    WINDOW w AS (ORDER BY est, lexeme ROWS UNBOUNDED PRECEDING)
),
kw_select AS MATERIALIZED (
    SELECT CASE
        WHEN (SELECT min(est) FROM kw_ordered) <= :kw_budget THEN (
            SELECT string_agg(quote_literal(lexeme), ' | ' ORDER BY n)
            FROM kw_ordered WHERE n = 1 OR running_est <= :kw_budget)
        ELSE (
            SELECT string_agg(quote_literal(lexeme), ' & ' ORDER BY n)
            FROM kw_ordered o
            WHERE o.n = 1 OR o.n <= 1 + (SELECT count(*) FROM kw_ordered p
                                         WHERE p.and_est > :kw_budget))
        END AS terms,
        (SELECT string_agg(quote_literal(lexeme), ' | ' ORDER BY n)
         FROM kw_ordered WHERE n <= 3) AS fallback_terms
),
kw_pool AS MATERIALIZED (
    -- The best :kw_pool by the ts_rank the arm ranks them by (then by id): the same pool
    -- whatever order the planner reads the matches in.
    SELECT c.id, c.tsv,
           ts_rank(CAST(:ts_weights AS real[]), c.tsv,
                   websearch_to_tsquery('english', :keyword_query), :ts_norm) AS trank
    FROM tenant_chunks c
    WHERE
"""
    + SEARCHABLE_SQL
    + """
      AND c.tsv @@ CAST((SELECT terms FROM kw_select) AS tsquery)
    ORDER BY trank DESC, c.id
    LIMIT :kw_pool
),
-- One-time filter: only when the selection found fewer than :arm_k rows (rare words that are
-- absent, or an AND that nothing satisfies), the OR of the three rarest words adds candidates.
kw_fallback AS MATERIALIZED (
    SELECT c.id, c.tsv,
           ts_rank(CAST(:ts_weights AS real[]), c.tsv,
                   websearch_to_tsquery('english', :keyword_query), :ts_norm) AS trank
    FROM tenant_chunks c
    WHERE
"""
    + SEARCHABLE_SQL
    + """
      AND (SELECT count(*) FROM kw_pool) < :arm_k
      AND c.tsv @@ CAST((SELECT fallback_terms FROM kw_select) AS tsquery)
      AND c.id NOT IN (SELECT id FROM kw_pool)
    ORDER BY trank DESC, c.id
    LIMIT :kw_pool
),
keyword_arm AS MATERIALIZED (
    -- ts_rank_cd costs ~6x ts_rank (covers over every query word): ts_rank picks the best
    -- :rank_pool candidates, ts_rank_cd orders those.
    SELECT r.id,
           ts_rank_cd(CAST(:ts_weights AS real[]), r.tsv,
                      websearch_to_tsquery('english', :keyword_query), :ts_norm) AS kscore
    FROM (
        SELECT p.id, p.tsv
        FROM (SELECT id, tsv, trank FROM kw_pool
              UNION ALL
              SELECT id, tsv, trank FROM kw_fallback) AS p
        ORDER BY p.trank DESC, p.id
        LIMIT :rank_pool
    ) AS r
    ORDER BY kscore DESC, r.id
    LIMIT :arm_k
),
keyword_ranked AS (
    SELECT id, row_number() OVER (ORDER BY kscore DESC, id) AS rank FROM keyword_arm
),
id_pool AS MATERIALIZED (
    -- A model name in every heading of its manual matches thousands of chunks in a large
    -- organization: rank at most :id_pool of them, the strongest matches first (the weights of
    -- the query identifiers a chunk holds as whole tokens: a family prefix counts
    -- FAMILY_PREFIX_WEIGHT, a longer code's variant found only by the regex nothing), then by id,
    -- so the pool is the same whatever plan reads the matches. The text search vector is read
    -- only for the pooled rows.
    SELECT c.id, c.document_id, c.identifiers, c.tsv
    FROM (
        SELECT m.id,
               (SELECT coalesce(sum(i.weight), 0)
                FROM unnest(CAST(:identifiers AS text[]),
                            CAST(:identifier_weights AS float8[])) AS i(ident, weight)
                WHERE strpos(' ' || lower(m.identifiers) || ' ', ' ' || lower(i.ident) || ' ') > 0
               ) AS strength
        FROM tenant_chunks m
        WHERE
"""
    + SEARCHABLE_SQL.replace("c.", "m.")
    + """          AND CAST(:identifier_regex AS text) IS NOT NULL
          AND m.identifiers ~* CAST(:identifier_regex AS text)
        ORDER BY strength DESC, m.id
        LIMIT :id_pool
    ) AS s
    JOIN tenant_chunks c ON c.id = s.id
),
id_matches AS MATERIALIZED (
    -- Each query identifier a pooled chunk holds as a whole token, with its weight (a family
    -- prefix's is FAMILY_PREFIX_WEIGHT). A whole token is found with strpos, never LIKE: an
    -- identifier's '_' or '%' ('USART1_TX') is a character, not a wildcard.
    SELECT p.id, p.document_id, i.ident, i.weight
    FROM id_pool p,
         unnest(CAST(:identifiers AS text[]), CAST(:identifier_weights AS float8[]))
           AS i(ident, weight)
    WHERE strpos(' ' || lower(p.identifiers) || ' ', ' ' || lower(i.ident) || ' ') > 0
),
id_counts AS MATERIALIZED (
    -- Per query identifier and manual: the pooled chunks holding it, the manual's chunk count,
    -- and the identifier's count over the whole pool.
    SELECT m.ident, m.document_id, count(*) AS n_doc,
           sum(count(*)) OVER (PARTITION BY m.ident) AS n_pool
    FROM id_matches m
    GROUP BY m.ident, m.document_id
),
id_rarity AS MATERIALIZED (
    -- Rarity of an identifier within its manual: one found in most of the manual's chunks (the
    -- model name in every heading) names the manual, not the passage. When the pool is full the
    -- identifier's share of the pool stands in for a share the pool cannot see.
    SELECT k.ident, k.document_id,
           greatest(0.0, 1.0 - greatest(
               k.n_doc / greatest(d.chunk_count, 1)::float8,
               CASE WHEN (SELECT count(*) FROM id_pool) >= :id_pool
                    THEN k.n_pool / CAST(:id_pool AS float8) ELSE 0.0 END)) AS rarity
    FROM id_counts k
    JOIN documents d ON d.id = k.document_id AND d.org_id = :org_id
),
id_hits AS MATERIALIZED (
    -- Identifiers matched per chunk, each counted by its rarity (a common one still counts a
    -- little: :id_common_floor); a chunk's arm weight is that of its rarest match.
    SELECT m.id,
           sum(m.weight * (:id_common_floor + (1 - :id_common_floor) * ir.rarity)) AS hits,
           max(m.weight * (:id_common_floor + (1 - :id_common_floor) * ir.rarity)) AS weight
    FROM id_matches m
    JOIN id_rarity ir ON ir.ident = m.ident AND ir.document_id = m.document_id
    GROUP BY m.id
),
identifier_arm AS MATERIALIZED (
    SELECT r.id, r.hits, r.weight,
           ts_rank_cd(CAST(:ts_weights AS real[]), r.tsv,
                      websearch_to_tsquery('english', :keyword_query), :ts_norm) AS kscore
    FROM (
        SELECT p.id, p.tsv, coalesce(h.hits, 0) AS hits, coalesce(h.weight, 0) AS weight
        FROM id_pool p
        LEFT JOIN id_hits h ON h.id = p.id
        ORDER BY coalesce(h.hits, 0) DESC,
                 ts_rank(CAST(:ts_weights AS real[]), p.tsv,
                         websearch_to_tsquery('english', :keyword_query), :ts_norm) DESC,
                 p.id
        LIMIT :rank_pool
    ) AS r
    ORDER BY r.hits DESC, kscore DESC, r.id
    LIMIT :arm_k
),
identifier_ranked AS (
    SELECT id, weight, row_number() OVER (ORDER BY hits DESC, kscore DESC, id) AS rank
    FROM identifier_arm
),
fused AS (
    SELECT id,
           sum(weight / (:rrf_k + rank)) AS score,
           min(rank) FILTER (WHERE arm = 'v') AS vector_rank,
           min(rank) FILTER (WHERE arm = 'k') AS keyword_rank,
           min(rank) FILTER (WHERE arm = 'i') AS identifier_rank
    FROM (
        SELECT id, rank, 'v' AS arm, CAST(:w_vector AS float8) AS weight FROM vector_ranked
        UNION ALL
        SELECT id, rank, 'k', CAST(:w_keyword AS float8) FROM keyword_ranked
        UNION ALL
        SELECT id, rank, 'i', CAST(:w_identifier AS float8) * weight FROM identifier_ranked
    ) AS arms
    GROUP BY id
    ORDER BY score DESC, id
    LIMIT :k
)
SELECT c.id AS chunk_id, c.document_id, d.title AS document_title, d.filename,
       c.page_start, c.page_end, c.heading, c.section_path, c.content, c.kind, c.parent_id,
       c.positions, c.identifiers,
       f.score, f.vector_rank, f.keyword_rank, f.identifier_rank,
       1 - (c.embedding <=> CAST(:query_vector AS vector)) AS vector_similarity,
       ts_rank_cd(CAST(:ts_weights AS real[]), c.tsv,
                  websearch_to_tsquery('english', :keyword_query), :ts_norm) AS keyword_score
FROM fused f
JOIN chunks c ON c.id = f.id AND c.org_id = :org_id
JOIN documents d ON d.id = c.document_id AND d.org_id = :org_id
ORDER BY f.score DESC, c.id
"""
)


def _family_prefixes(identifiers: Sequence[str]) -> list[str]:
    """The family prefixes of the query's long codes (`text.identifiers.family_prefixes`),
    matched exactly: a full order code ('STM32F103RET6') finds the ordering scheme that writes
    its family alone ('STM32 F 103 R C T 6') and the tables that list its model."""
    from techdocs_app.text.identifiers import family_prefixes

    out: list[str] = []
    for identifier in identifiers:
        out.extend(p for p in family_prefixes(identifier) if p not in out)
    return out


def _query_identifiers(query: str) -> list[str]:
    from techdocs_app.text.identifiers import query_identifiers

    return list(query_identifiers(query))


def search_params(
    *,
    org_id: int,
    query: str,
    query_vector: Sequence[float],
    embed_model: str,
    document_ids: Sequence[int] | None,
    k: int,
    identifiers: Sequence[str] | None = None,
    weights: tuple[float, float, float] | None = None,
    rrf_k: int | None = None,
    keyword_budget: int | None = None,
    id_common_floor: float | None = None,
    family_weight: float | None = None,
    id_pool: int | None = None,
    keyword_pool: int | None = None,
) -> dict[str, Any]:
    settings = get_settings()
    idents = list(identifiers) if identifiers is not None else _query_identifiers(query)
    families = _family_prefixes(idents)
    extra_families = [f for f in families if f not in idents]
    w_vector, w_keyword, w_identifier = weights or (
        settings.semantic_weight,
        settings.keyword_weight,
        settings.identifier_weight,
    )
    return {
        "org_id": int(org_id),
        "query_vector": vector_literal(query_vector),
        "keyword_query": keyword_query(query),
        "embed_model": embed_model,
        "document_ids": [int(d) for d in document_ids] if document_ids is not None else None,
        "identifiers": idents + extra_families,
        "identifier_weights": [1.0] * len(idents)
        + [float(family_weight if family_weight is not None else FAMILY_PREFIX_WEIGHT)]
        * len(extra_families),
        "identifier_regex": identifier_regex(idents, families),
        "ts_weights": TS_RANK_WEIGHTS,
        "ts_norm": TS_RANK_NORMALIZATION,
        "arm_k": max(int(k), ARM_MIN_K),
        "kw_budget": int(keyword_budget if keyword_budget is not None else KEYWORD_BUDGET),
        "kw_pool": int(keyword_pool if keyword_pool is not None else KEYWORD_POOL),
        "rank_pool": RANK_POOL,
        "id_pool": int(id_pool if id_pool is not None else IDENTIFIER_POOL),
        "id_common_floor": float(
            id_common_floor if id_common_floor is not None else IDENTIFIER_COMMON_FLOOR
        ),
        "k": int(k),
        "rrf_k": int(rrf_k if rrf_k is not None else settings.rrf_k),
        "w_vector": float(w_vector),
        "w_keyword": float(w_keyword),
        "w_identifier": float(w_identifier),
    }


def _configure(conn: Connection, org_id: int) -> None:
    """Transaction-local settings (bound through set_config: SET takes no parameters): HNSW, and
    the organization that row-level security and `tenant_chunks` scope the statement to."""
    conn.execute(
        text(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', :ef, true), "
            "set_config('app.org_id', :org_id, true)"
        ),
        {"ef": str(get_settings().hnsw_ef_search), "org_id": str(int(org_id))},
    )


def _row_to_hit(row: Any) -> SearchHit:
    m = row._mapping
    return SearchHit(
        chunk_id=int(m["chunk_id"]),
        document_id=int(m["document_id"]),
        document_title=m["document_title"] or m["filename"],
        filename=m["filename"],
        page_start=int(m["page_start"]),
        page_end=int(m["page_end"]),
        heading=m["heading"] or "",
        section_path=list(m["section_path"] or []),
        content=m["content"],
        kind=m["kind"],
        parent_id=m["parent_id"],
        positions=list(m["positions"] or []),
        identifiers=(m["identifiers"] or "").split(),
        score=float(m["score"]),
        vector_rank=m["vector_rank"],
        keyword_rank=m["keyword_rank"],
        identifier_rank=m["identifier_rank"],
        vector_similarity=float(m["vector_similarity"] or 0.0),
        keyword_score=float(m["keyword_score"] or 0.0),
    )


def hybrid_search(
    *,
    org_id: int,
    query: str,
    query_vector: Sequence[float],
    document_ids: Sequence[int] | None = None,
    k: int = 20,
    embed_model: str | None = None,
    identifiers: Sequence[str] | None = None,
    weights: tuple[float, float, float] | None = None,
    rrf_k: int | None = None,
    keyword_budget: int | None = None,
    id_common_floor: float | None = None,
    family_weight: float | None = None,
    id_pool: int | None = None,
    keyword_pool: int | None = None,
) -> list[SearchHit]:
    """The top `k` chunks of the organization for `query`, fused over the three arms.

    `embed_model` defaults to the configured embedder's model: vectors of other models are never
    compared with the query vector. `identifiers` defaults to those extracted from `query`.
    """
    if embed_model is None:
        from techdocs_app.providers import get_embedder

        embed_model = get_embedder().model_name
    params = search_params(
        org_id=org_id,
        query=query,
        query_vector=query_vector,
        embed_model=embed_model,
        document_ids=document_ids,
        k=k,
        identifiers=identifiers,
        weights=weights,
        rrf_k=rrf_k,
        keyword_budget=keyword_budget,
        id_common_floor=id_common_floor,
        family_weight=family_weight,
        id_pool=id_pool,
        keyword_pool=keyword_pool,
    )
    if document_ids is not None and not params["document_ids"]:
        return []
    with get_engine().connect() as conn, conn.begin():
        _configure(conn, params["org_id"])
        rows = conn.execute(text(HYBRID_SQL), params).all()
    return [_row_to_hit(r) for r in rows]


def explain_hybrid_search(**kwargs: Any) -> str:
    """EXPLAIN (ANALYZE) of the statement `hybrid_search` runs with these arguments (for checks)."""
    embed_model = kwargs.pop("embed_model", None)
    if embed_model is None:
        from techdocs_app.providers import get_embedder

        embed_model = get_embedder().model_name
    kwargs.setdefault("document_ids", None)
    kwargs.setdefault("k", 20)
    params = search_params(embed_model=embed_model, **kwargs)
    with get_engine().connect() as conn, conn.begin():
        _configure(conn, params["org_id"])
        rows = conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + HYBRID_SQL), params).all()
    return "\n".join(r[0] for r in rows)


def vector_arm_ids(*, exact: bool = False, **kwargs: Any) -> list[int]:
    """The vector arm's ranked chunk ids, run exactly as inside `hybrid_search` (same SQL, same
    HNSW settings); `exact=True` disables index and bitmap scans so the same arm becomes a
    sequential scan with a full sort: the exact nearest neighbours (the benchmark's recall)."""
    embed_model = kwargs.pop("embed_model", None)
    if embed_model is None:
        from techdocs_app.providers import get_embedder

        embed_model = get_embedder().model_name
    kwargs.setdefault("document_ids", None)
    kwargs.setdefault("k", 20)
    params = search_params(embed_model=embed_model, **kwargs)
    with get_engine().connect() as conn, conn.begin():
        _configure(conn, params["org_id"])
        if exact:
            conn.execute(
                text(
                    "SELECT set_config('enable_indexscan', 'off', true), "
                    "set_config('enable_bitmapscan', 'off', true), "
                    "set_config('max_parallel_workers_per_gather', '0', true)"
                )
            )
        rows = conn.execute(text(VECTOR_ARM_IDS_SQL), params).all()
    return [int(r[0]) for r in rows]
