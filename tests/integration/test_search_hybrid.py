"""hybrid_search against the real Postgres with the real embedder: each arm finds what only it can
find, the fusion keeps it, and an organization never sees another's chunks."""

from __future__ import annotations

import hashlib

import pytest

pytestmark = pytest.mark.integration


def insert_chunks(org_id: int, title: str, texts: list[tuple[str, str, str]]) -> list[int]:
    """Store one ready document with `texts` (content, heading, identifiers) as embedded chunks.

    Uses the real embedder and the real table (generated tsvector, HNSW/GIN indexes); returns the
    chunk ids in order.
    """
    from techdocs_app.db.engine import session_scope
    from techdocs_app.db.models import Chunk, Document
    from techdocs_app.providers import get_embedder

    embedder = get_embedder()
    vectors = embedder.embed_documents([f"{title}\n{h}\n{c}" for c, h, _ in texts])
    with session_scope(org_id=org_id) as session:
        doc = Document(
            org_id=org_id,
            filename=f"{title.lower().replace(' ', '_')}.pdf",
            title=title,
            sha256=hashlib.sha256(f"{org_id}:{title}".encode()).hexdigest(),
            size_bytes=1000,
            pages=len(texts),
            pages_done=len(texts),
            chunk_count=len(texts),
            status="ready",
            embed_model=embedder.model_name,
            storage_key=f"test/{org_id}/{title}",
        )
        session.add(doc)
        session.flush()
        chunks = [
            Chunk(
                org_id=org_id,
                document_id=doc.id,
                ordinal=i,
                kind="text",
                page_start=i + 1,
                page_end=i + 1,
                section_path=[heading],
                heading=f"{title} > {heading}",
                content=content,
                identifiers=identifiers,
                positions=[{"page": i + 1, "x0": 10, "y0": 10, "x1": 100, "y1": 40}],
                token_count=len(content.split()),
                embed_model=embedder.model_name,
                embedding=vector,
            )
            for i, ((content, heading, identifiers), vector) in enumerate(
                zip(texts, vectors, strict=True)
            )
        ]
        session.add_all(chunks)
        session.flush()
        return [c.id for c in chunks]


def search(org_id: int, query: str, **kwargs):  # noqa: ANN201
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.retrieve import hybrid_search

    vector = get_embedder().embed_query(query)
    return hybrid_search(org_id=org_id, query=query, query_vector=vector, **kwargs)


# Many distractors that share the query's common words, so that the target can only come from the
# arm under test (each arm keeps its top 40).
BATTERY = [
    (
        f"Battery charging voltage and charging current: model {i} charges its battery at "
        f"{100 + i} mA; the battery voltage must stay between 11 and 15 V while charging.",
        "Battery charging",
        "",
    )
    for i in range(60)
]


def test_identifier_arm_finds_a_code_the_other_arms_bury(make_org) -> None:  # noqa: ANN001
    org = make_org("Codes")
    ids = insert_chunks(
        org.org_id,
        "Receiver manual",
        BATTERY + [("Event table row: low level, sent.", "Event codes", "E302 0130299000")],
    )
    target = ids[-1]
    hits = search(org.org_id, "battery charging voltage current E302")
    by_id = {h.chunk_id: h for h in hits}
    assert target in by_id, "the identifier arm must bring the coded row into the top 20"
    hit = by_id[target]
    assert hit.identifier_rank == 1
    assert hit.vector_rank is None and hit.keyword_rank is None
    assert hit.identifiers == ["E302", "0130299000"]


def test_keyword_arm_finds_a_rare_word_the_vectors_miss(make_org) -> None:  # noqa: ANN001
    org = make_org("Words")
    paraphrases = [
        (
            f"Adjusting the measuring instrument before use is essential; buying one is "
            f"expensive (variant {i}). Ask your dealer for the purchase price of the instrument.",
            "Instruments",
            "",
        )
        for i in range(60)
    ]
    ids = insert_chunks(
        org.org_id,
        "Workshop guide",
        paraphrases + [("Zorblax appears in appendix four.", "Appendix", "")],
    )
    target = ids[-1]
    hits = search(org.org_id, "What does a Zorblax calibration gauge cost?")
    by_id = {h.chunk_id: h for h in hits}
    assert target in by_id
    assert by_id[target].keyword_rank == 1
    assert by_id[target].vector_rank is None
    assert by_id[target].identifier_rank is None


def test_vector_arm_finds_a_paraphrase_without_shared_words(make_org) -> None:  # noqa: ANN001
    org = make_org("Meaning")
    word_matches = [
        (
            f"Parts list {i}: printer plastic parts, stop bracket, leaking seal kit, between-frame "
            "spacer. Order the plastic parts of the printer by number.",
            "Parts list",
            "",
        )
        for i in range(60)
    ]
    ids = insert_chunks(
        org.org_id,
        "3D printer guide",
        word_matches
        + [
            (
                "Stringing and oozing: thin hairs of filament appear across gaps. Enable "
                "retraction and lower the nozzle temperature to reduce them.",
                "Troubleshooting",
                "",
            )
        ],
    )
    target = ids[-1]
    hits = search(org.org_id, "How do I get rid of the thin strands of filament across gaps?")
    ranks = [h.chunk_id for h in hits]
    assert target in ranks[:3]
    hit = hits[ranks.index(target)]
    assert hit.vector_rank == 1
    assert hit.vector_similarity > 0.4


def test_results_carry_what_the_answer_needs(make_org) -> None:  # noqa: ANN001
    org = make_org("Fields")
    ids = insert_chunks(
        org.org_id,
        "RT2 manual",
        [
            (
                "The RT2 module is powered from 12.6 V; current not exceeding 150 mA.",
                "Specs",
                "RT2",
            ),
            ("Press Read, change the parameters and press Write.", "Programming", "RT2 SPROG-1"),
        ],
    )
    hits = search(org.org_id, "RT2 supply current")
    assert hits[0].chunk_id == ids[0]
    first = hits[0]
    assert first.document_title == "RT2 manual" and first.filename == "rt2_manual.pdf"
    assert (first.page_start, first.page_end) == (1, 1)
    assert first.heading == "RT2 manual > Specs" and first.kind == "text"
    assert first.positions and first.positions[0]["page"] == 1
    assert first.score > 0 and hits[0].score >= hits[-1].score
    assert {first.vector_rank, first.keyword_rank, first.identifier_rank} >= {1}


def test_document_filter_and_other_models(make_org) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from techdocs_app.db.engine import get_owner_engine as get_engine

    org = make_org("Filter")
    a = insert_chunks(org.org_id, "Manual A", [("Torque the bolt to 40 Nm.", "Torque", "")])
    b = insert_chunks(org.org_id, "Manual B", [("Torque the nut to 25 Nm.", "Torque", "")])
    with get_engine().begin() as conn:
        doc_a = conn.execute(text("SELECT document_id FROM chunks WHERE id = :i"), {"i": a[0]})
        doc_a_id = doc_a.scalar_one()
    only_a = search(org.org_id, "bolt torque", document_ids=[doc_a_id])
    assert [h.chunk_id for h in only_a] == a
    assert search(org.org_id, "bolt torque", document_ids=[]) == []
    # Chunks embedded by another model are never compared with this query's vector.
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE chunks SET embed_model = 'other-model' WHERE id = :i"), {"i": b[0]}
        )
    assert {h.chunk_id for h in search(org.org_id, "nut torque")} == set(a)


def test_tenancy_org_b_never_receives_org_a_chunks(make_org) -> None:  # noqa: ANN001
    from sqlalchemy import text

    from techdocs_app.db.engine import get_owner_engine as get_engine

    a = make_org("Shop A")
    b = make_org("Shop B")
    a_ids = insert_chunks(
        a.org_id, "Secret A", [("Compressor part 4471-A23 torque is 12 Nm.", "Specs", "4471-A23")]
    )
    b_ids = insert_chunks(b.org_id, "Manual B", [("Fan belt tension is 5 mm.", "Belts", "")])
    with get_engine().begin() as conn:
        a_doc = conn.execute(
            text("SELECT document_id FROM chunks WHERE id = :i"), {"i": a_ids[0]}
        ).scalar_one()
    for kwargs in ({}, {"document_ids": [a_doc]}):
        hits = search(b.org_id, "compressor part 4471-A23 torque", **kwargs)
        assert all(h.chunk_id in b_ids for h in hits)
    assert search(b.org_id, "compressor 4471-A23", document_ids=[a_doc]) == []
    assert [h.chunk_id for h in search(a.org_id, "4471-A23")] == a_ids


def test_vector_arm_ids_is_the_arm_hybrid_search_runs(make_org) -> None:  # noqa: ANN001
    """The benchmark's recall checks `vector_arm_ids`: it must be hybrid_search's own vector arm."""
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.retrieve import HYBRID_SQL, VECTOR_ARM_SQL, vector_arm_ids

    assert VECTOR_ARM_SQL.strip() in HYBRID_SQL
    org = make_org("Arm")
    ids = insert_chunks(org.org_id, "Charger manual", BATTERY[:30])
    query = "battery charging current of model 7"
    vector = get_embedder().embed_query(query)
    approx = vector_arm_ids(org_id=org.org_id, query=query, query_vector=vector)
    exact = vector_arm_ids(org_id=org.org_id, query=query, query_vector=vector, exact=True)
    assert len(approx) == len(exact) == 30 and set(exact) == set(ids)
    # At 30 rows the index scan finds every row; both orders are by exact distance.
    assert approx == exact
    ranked = [h for h in search(org.org_id, query) if h.vector_rank]
    assert ranked
    assert all(exact[h.vector_rank - 1] == h.chunk_id for h in ranked)


def _analyze_chunks() -> None:
    from sqlalchemy import text

    from techdocs_app.db.engine import get_owner_engine as get_engine

    with get_engine().connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE chunks"))


def _explain_section(plan: str, cte: str) -> str:
    """The lines of an EXPLAIN text that belong to `CTE <cte>`."""
    lines = plan.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"CTE {cte}")
    indent = len(lines[start]) - len(lines[start].lstrip())
    section = [lines[start]]
    for line in lines[start + 1 :]:
        if len(line) - len(line.lstrip()) <= indent:
            break
        section.append(line)
    return "\n".join(section)


def test_keyword_arm_selects_by_rare_words_and_falls_back_when_they_find_few(
    make_org,  # noqa: ANN001
) -> None:
    """With statistics that make the common words too costly (a tiny budget stands in for a
    100k-chunk organization), candidates come from the rare word only; as it finds fewer rows than
    an arm needs, the one-time fallback adds the rows matching any word, all ranked as usual."""
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.retrieve import explain_hybrid_search

    org = make_org("Rare words")
    ids = insert_chunks(
        org.org_id,
        "Charger manual",
        BATTERY
        + [
            (
                "Flumox: battery charging stops. Flumox means the battery charging fuse opened; "
                "replace the flumox fuse before charging the battery again.",
                "Battery charging faults",
                "",
            )
        ],
    )
    _analyze_chunks()
    query = "battery charging flumox"
    hits = search(org.org_id, query, keyword_budget=5)
    by_id = {h.chunk_id: h for h in hits}
    assert by_id[ids[-1]].keyword_rank == 1
    assert sum(1 for h in hits if h.keyword_rank) > 1, "the fallback adds the common-word rows"
    plan = explain_hybrid_search(
        org_id=org.org_id,
        query=query,
        query_vector=get_embedder().embed_query(query),
        keyword_budget=5,
    )
    assert "never executed" not in _explain_section(plan, "kw_fallback")
    # Without statistics pressure (the default budget at this size) every word selects, the rare
    # word's chunk still ranks first, and the fallback is not needed.
    plan = explain_hybrid_search(
        org_id=org.org_id, query=query, query_vector=get_embedder().embed_query(query)
    )
    assert "never executed" in _explain_section(plan, "kw_fallback")
    assert {h.chunk_id: h for h in search(org.org_id, query)}[ids[-1]].keyword_rank == 1


def test_keyword_arm_ands_the_rarest_words_when_every_word_is_common(
    make_org,  # noqa: ANN001
) -> None:
    from techdocs_app.providers import get_embedder
    from techdocs_app.rag.retrieve import explain_hybrid_search

    org = make_org("Common words")
    mixed = [
        (f"Battery charging note {i}: charge at room temperature.", "Charging", "")
        for i in range(40)
    ] + [(f"Battery storage note {i}: store it half charged.", "Storage", "") for i in range(40)]
    ids = insert_chunks(org.org_id, "Battery guide", mixed)
    _analyze_chunks()
    query = "battery charging temperature"
    hits = search(org.org_id, query, keyword_budget=5)
    keyword_hits = [h for h in hits if h.keyword_rank]
    assert keyword_hits
    # The AND of the words keeps only the 40 charging notes: no storage note reaches the arm.
    assert all(ids.index(h.chunk_id) < 40 for h in keyword_hits)
    plan = explain_hybrid_search(
        org_id=org.org_id,
        query=query,
        query_vector=get_embedder().embed_query(query),
        keyword_budget=5,
    )
    assert "never executed" in _explain_section(plan, "kw_fallback")


def test_an_identifier_in_every_chunk_of_its_manual_counts_less(make_org) -> None:  # noqa: ANN001
    """The identifier arm weighs each identifier by its rarity in its manual: the model name in
    every chunk of the ZX90 manual says which manual, not which passage, while the one ZX90 mention
    in the catalogue is a real pointer (identifier arm alone: weights 0/0/1)."""
    from techdocs_app.rag.retrieve import IDENTIFIER_COMMON_FLOOR

    shop = make_org("Rarity")
    common = insert_chunks(
        shop.org_id,
        "ZX90 manual",
        [
            (f"Section {i} of the ZX90 manual: routine care step {i}.", f"Care {i}", "ZX90")
            for i in range(8)
        ],
    )
    catalogue = insert_chunks(
        shop.org_id,
        "Parts catalogue",
        [("The ZX90 uses the K-12 filter cartridge.", "Filters", "ZX90 K-12")]
        + [(f"Catalogue page {i}: hoses and clamps.", f"Page {i}", f"H{i}00") for i in range(7)],
    )
    hits = search(shop.org_id, "ZX90", weights=(0.0, 0.0, 1.0))
    scores = {h.chunk_id: h.score for h in hits}
    assert hits[0].chunk_id == catalogue[0]
    common_scores = [scores[c] for c in common if c in scores]
    assert common_scores and max(common_scores) < scores[catalogue[0]] * 0.6
    # With the floor at 1.0 every identifier counts fully again (the arm before rarity).
    flat = search(shop.org_id, "ZX90", weights=(0.0, 0.0, 1.0), id_common_floor=1.0)
    assert max(h.score for h in flat if h.chunk_id in common) > max(common_scores)
    assert 0.0 < IDENTIFIER_COMMON_FLOOR < 1.0


def test_identifier_pool_takes_the_strongest_matches_then_the_lowest_ids(make_org) -> None:  # noqa: ANN001
    """More chunks match than the pool holds: the pool is not whichever rows the planner reads
    first but those holding the most query identifiers, then the lowest ids (identifier arm
    alone: weights 0/0/1, a pool of 5)."""
    shop = make_org("Pool order")
    common = insert_chunks(
        shop.org_id,
        "ZX90 manual",
        [
            (f"Section {i} of the ZX90 manual: routine care step {i}.", f"Care {i}", "ZX90")
            for i in range(12)
        ],
    )
    [filter_chunk] = insert_chunks(
        shop.org_id,
        "Parts catalogue",
        [("The ZX90 uses the K-12 filter cartridge.", "Filters", "ZX90 K-12")],
    )
    for _ in range(2):  # the same pool on a second run
        hits = search(shop.org_id, "ZX90 K-12 filter", weights=(0.0, 0.0, 1.0), id_pool=5)
        pooled = {h.chunk_id for h in hits if h.identifier_rank is not None}
        assert hits[0].chunk_id == filter_chunk
        assert pooled == {filter_chunk, *sorted(common)[:4]}


def test_a_family_prefix_counts_its_weight(make_org) -> None:  # noqa: ANN001
    """'STM32F103RET6' also searches its family 'STM32F103' (text.identifiers.family_prefixes):
    a chunk holding the family alone counts FAMILY_PREFIX_WEIGHT of one holding the code."""
    from techdocs_app.rag.retrieve import FAMILY_PREFIX_WEIGHT, search_params
    from techdocs_app.settings import get_settings

    params = search_params(
        org_id=1,
        query="STM32F103RET6 flash size",
        query_vector=[0.0] * 384,
        embed_model="m",
        document_ids=None,
        k=5,
    )
    weights = dict(zip(params["identifiers"], params["identifier_weights"], strict=True))
    assert weights["STM32F103RET6"] == 1.0
    assert weights["STM32F103"] == FAMILY_PREFIX_WEIGHT
    shop = make_org("Family weight")
    family, code = insert_chunks(
        shop.org_id,
        "Datasheet",
        [
            ("Ordering scheme of the STM32F103 family.", "Part numbering", "STM32F103"),
            ("The STM32F103RET6 has 512 Kbytes of Flash.", "Device summary", "STM32F103RET6"),
        ],
    )
    rrf_k = get_settings().rrf_k
    for family_weight in (0.5, 1.0):
        hits = search(
            shop.org_id,
            "STM32F103RET6",
            weights=(0.0, 0.0, 1.0),
            id_common_floor=1.0,
            family_weight=family_weight,
        )
        by_id = {h.chunk_id: h for h in hits}
        assert by_id[code].identifier_rank == 1
        assert by_id[family].identifier_rank == 2
        # score = weight / (rrf_k + rank): the weight is the family prefix's.
        ratio = (by_id[family].score * (rrf_k + 2)) / (by_id[code].score * (rrf_k + 1))
        assert ratio == pytest.approx(family_weight)


@pytest.mark.parametrize(("identifier", "lookalike"), [("USART1_TX", "USART1XTX"), ("E%2", "E302")])
def test_an_identifier_matches_itself_not_a_like_pattern(
    make_org,  # noqa: ANN001
    identifier: str,
    lookalike: str,
) -> None:
    """'_' and '%' in an identifier ('USART1_TX', or any text a caller passes) are characters, not
    LIKE wildcards: a chunk pooled for another query identifier ('PA9') does not also count
    'USART1_TX' for its 'USART1XTX' (identifier arm alone, rarity off; the two chunks are worded
    the same and the query's words are in neither, so only the matched identifiers can order them,
    and the lookalike has the lower id)."""
    shop = make_org(f"Wildcards {identifier}")
    text = "Pin PA9 carries the USART1 transmit signal."
    lookalike_chunk, real_chunk = insert_chunks(
        shop.org_id,
        "Pinout",
        [(text, "Pins", f"PA9 {lookalike}"), (text, "Pins", f"PA9 {identifier}")],
    )
    hits = search(
        shop.org_id,
        "wiring",
        identifiers=["PA9", identifier],
        weights=(0.0, 0.0, 1.0),
        id_common_floor=1.0,
    )
    by_id = {h.chunk_id: h for h in hits}
    assert by_id[real_chunk].identifier_rank == 1
    assert by_id[lookalike_chunk].identifier_rank == 2


def test_keyword_pool_takes_the_best_ranked_matches_then_the_lowest_ids(make_org) -> None:  # noqa: ANN001
    """More chunks match than the keyword pool holds: the pool is not whichever rows the planner
    reads first (the lowest ids, in a freshly filled table) but the best by the arm's ts_rank,
    then the lowest ids (keyword arm alone: weights 0/1/0; a pool of an arm's 40, so the one-time
    fallback, for a pool of fewer, stays out)."""
    from techdocs_app.rag.retrieve import ARM_MIN_K

    shop = make_org("Keyword pool order")
    passing = insert_chunks(
        shop.org_id,
        "Charger manual",
        [(f"Note {i}: the flumox is mentioned in passing.", f"Note {i}", "") for i in range(60)],
    )
    [best] = insert_chunks(
        shop.org_id,
        "Flumox guide",
        [("Flumox fuse: replace the flumox when the flumox opens.", "Flumox fuse", "")],
    )
    for _ in range(2):  # the same pool on a second run
        hits = search(
            shop.org_id,
            "flumox fuse",
            k=ARM_MIN_K,
            weights=(0.0, 1.0, 0.0),
            keyword_pool=ARM_MIN_K,
        )
        pooled = {h.chunk_id for h in hits if h.keyword_rank is not None}
        assert hits[0].chunk_id == best
        assert pooled == {best, *sorted(passing)[: ARM_MIN_K - 1]}
