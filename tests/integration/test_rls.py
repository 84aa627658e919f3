"""Row-level security: the app's connection sees a tenant's rows only inside that tenant's scope.

Everything here runs against the real test database, as the application role the app uses
(`DATABASE_URL`), with the owner (`DATABASE_OWNER_URL`) only where a test says so.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlmodel import SQLModel, select

from techdocs_app.db import rls
from techdocs_app.db.engine import (
    get_engine,
    get_owner_engine,
    session_scope,
    set_tenant,
    system_session_scope,
)
from techdocs_app.db.models import Chunk, Conversation, Document, Membership, Organization, User
from techdocs_app.rag import retrieve

TENANT_TABLES_WITH_ORG_ID = sorted(
    t.name for t in SQLModel.metadata.sorted_tables if "org_id" in t.columns
)


def _seed(make_org) -> tuple:  # noqa: ANN001
    a = make_org("Alpha Auto")
    b = make_org("Bravo HVAC")
    for principal, name in ((a, "alpha.pdf"), (b, "bravo.pdf")):
        with session_scope(org_id=principal.org_id) as s:
            doc = Document(
                org_id=principal.org_id,
                filename=name,
                title=name,
                sha256=name * 2,
                size_bytes=1,
                storage_key=name,
                status="ready",
            )
            s.add(doc)
            s.flush()
            s.add(
                Chunk(
                    org_id=principal.org_id,
                    document_id=doc.id,
                    ordinal=0,
                    page_start=1,
                    page_end=1,
                    content=f"torque spec of {name}",
                    identifiers="AB-1234",
                    embed_model="m",
                    embedding=[0.1] * 384,
                )
            )
            s.add(Conversation(org_id=principal.org_id, user_id=principal.user_id, title=name))
    return a, b


def test_the_app_role_is_held_by_row_level_security(db) -> None:  # noqa: ANN001
    with get_engine().connect() as conn:
        assert rls.app_role_problems(conn) == []
        role = conn.execute(text("SELECT current_user")).scalar_one()
    with get_owner_engine().connect() as conn:
        owner = conn.execute(text("SELECT current_user")).scalar_one()
    assert role != owner


def test_every_table_with_org_id_has_forced_rls_and_the_tenant_policy(db) -> None:  # noqa: ANN001
    """Also guards tables later migrations add: each needs `rls.enable_tenant_rls(table)`."""
    assert {"documents", "chunks", "memberships", "invitations"} <= set(TENANT_TABLES_WITH_ORG_ID)
    with get_owner_engine().connect() as conn:
        flags = {
            r.relname: (r.relrowsecurity, r.relforcerowsecurity)
            for r in conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"
                )
            )
        }
        policies = {
            (r.tablename, r.policyname): r.qual
            for r in conn.execute(text("SELECT tablename, policyname, qual FROM pg_policies"))
        }
    for table in [*TENANT_TABLES_WITH_ORG_ID, "organizations", "users", "webhook_events"]:
        assert flags[table] == (True, True), f"{table}: row-level security not enabled and forced"
    for table in TENANT_TABLES_WITH_ORG_ID:
        qual = policies.get((table, rls.TENANT_POLICY))
        assert qual is not None and "app.org_id" in qual and "org_id" in qual, table


def test_a_deliberately_unscoped_query_returns_nothing(make_org) -> None:  # noqa: ANN001
    a, b = _seed(make_org)
    # No org filter and no scope: the bug RLS is there to catch.
    with session_scope() as s:
        assert s.exec(select(Document)).all() == []
        assert s.exec(select(Chunk)).all() == []
        assert s.exec(select(Conversation)).all() == []
        assert s.exec(select(Membership)).all() == []
        assert s.exec(select(Organization)).all() == []
        assert s.exec(select(User)).all() == []
    with get_engine().connect() as conn:
        for table in TENANT_TABLES_WITH_ORG_ID:
            assert conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one() == 0, table
        assert conn.execute(text("SELECT count(*) FROM tenant_chunks")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM webhook_events")).scalar_one() == 0
    # The owner sees both organizations' rows (maintenance only).
    with system_session_scope() as s:
        assert {d.filename for d in s.exec(select(Document))} == {"alpha.pdf", "bravo.pdf"}


def test_an_unscoped_query_inside_a_scope_sees_only_that_organization(make_org) -> None:  # noqa: ANN001
    a, b = _seed(make_org)
    with session_scope(org_id=a.org_id) as s:
        # Forgetting `.where(Document.org_id == ...)` still returns only Alpha's rows.
        assert [d.filename for d in s.exec(select(Document))] == ["alpha.pdf"]
        assert [o.name for o in s.exec(select(Organization))] == ["Alpha Auto"]
        assert [u.email for u in s.exec(select(User))] == [a.email]
        assert s.get(Document, 2) is None  # Bravo's document by id: nothing
    with get_engine().connect() as conn, conn.begin():
        set_tenant(conn, b.org_id)
        rows = conn.execute(text("SELECT filename FROM documents")).scalars().all()
        assert rows == ["bravo.pdf"]
        assert conn.execute(text("SELECT count(*) FROM tenant_chunks")).scalar_one() == 1


def test_the_scope_survives_a_commit_inside_the_session(make_org) -> None:  # noqa: ANN001
    a, _ = _seed(make_org)
    with session_scope(org_id=a.org_id) as s:
        s.commit()  # the transaction (and its SET LOCAL) ends; the next one is scoped again
        assert [d.filename for d in s.exec(select(Document))] == ["alpha.pdf"]


def test_writing_another_organizations_rows_is_refused(make_org) -> None:  # noqa: ANN001
    a, b = _seed(make_org)
    with pytest.raises(ProgrammingError, match="row-level security"):
        with session_scope(org_id=a.org_id) as s:
            s.add(
                Document(
                    org_id=b.org_id,
                    filename="planted.pdf",
                    sha256="x" * 64,
                    size_bytes=1,
                    storage_key="k",
                )
            )
    with session_scope(org_id=a.org_id) as s:
        # Updates and deletes of Bravo's rows match nothing.
        assert (
            s.exec(
                text("UPDATE documents SET title = 'x' WHERE org_id = :o"), params={"o": b.org_id}
            ).rowcount
            == 0
        )  # type: ignore[call-overload]
        assert (
            s.exec(text("DELETE FROM documents WHERE org_id = :o"), params={"o": b.org_id}).rowcount
            == 0
        )  # type: ignore[call-overload]
    with system_session_scope() as s:
        assert s.exec(select(Document).where(Document.org_id == b.org_id)).first() is not None


def test_the_app_role_cannot_change_the_schema_or_bypass(db) -> None:  # noqa: ANN001
    for statement in (
        "ALTER TABLE documents DISABLE ROW LEVEL SECURITY",
        "TRUNCATE documents",
        "DROP POLICY tenant_isolation ON documents",
        "SET row_security = off; SELECT 1 FROM documents",
        "INSERT INTO tenant_chunks (org_id) VALUES (1)",
    ):
        with get_engine().connect() as conn, pytest.raises(DBAPIError):
            conn.execute(text(statement))


def test_tables_added_later_are_granted_to_the_app_role(db) -> None:  # noqa: ANN001
    """Default privileges: the owner creates a table (as a later migration would) and puts it
    under the tenant policy with the helper; the app role can use it, scoped."""
    with get_owner_engine().begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS rls_probe"))
        conn.execute(
            text("CREATE TABLE rls_probe (id bigserial PRIMARY KEY, org_id bigint NOT NULL)")
        )
        for statement in rls.tenant_rls_statements("rls_probe"):
            conn.execute(text(statement))
    try:
        with get_engine().connect() as conn, conn.begin():
            set_tenant(conn, 7)
            conn.execute(text("INSERT INTO rls_probe (org_id) VALUES (7)"))
            assert conn.execute(text("SELECT count(*) FROM rls_probe")).scalar_one() == 1
        with get_engine().connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM rls_probe")).scalar_one() == 0
    finally:
        with get_owner_engine().begin() as conn:
            conn.execute(text("DROP TABLE rls_probe"))


def test_search_statistics_functions_reveal_only_the_current_organization(make_org) -> None:  # noqa: ANN001
    a, b = _seed(make_org)
    with get_owner_engine().begin() as conn:
        for org_id, n in ((a.org_id, 29), (b.org_id, 9)):
            conn.execute(
                text(
                    "INSERT INTO chunks (org_id, document_id, ordinal, kind, page_start, page_end,"
                    " section_path, heading, content, identifiers, positions, token_count)"
                    " SELECT org_id, document_id, g, 'text', 1, 1, '[]', '', 'torque', '', '[]', 1"
                    " FROM chunks, generate_series(1, :n) g WHERE org_id = :o"
                ),
                {"o": org_id, "n": n},
            )
        conn.execute(text("ANALYZE chunks"))
    with get_engine().connect() as conn, conn.begin():
        set_tenant(conn, a.org_id)
        # pg_stats hides the table's statistics from the app role...
        hidden = "SELECT count(*) FROM pg_stats WHERE tablename = 'chunks'"
        assert conn.execute(text(hidden)).scalar_one() == 0
        # ...the functions give this organization's share (30 of 40 rows) and only the words
        # asked about.
        rows = conn.execute(text("SELECT search_chunk_org_rows()")).scalar_one()
        assert rows == pytest.approx(30.0)
        stats = conn.execute(
            text("SELECT elems, freqs FROM search_lexeme_stats(ARRAY['torqu', 'nowordlikeit'])")
        ).one()
        assert stats.elems == ["torqu"]
        assert len(stats.freqs) == 2  # its frequency, then the statistics' minimum
    with get_engine().connect() as conn, conn.begin():
        set_tenant(conn, b.org_id)
        assert conn.execute(text("SELECT search_chunk_org_rows()")).scalar_one() == (
            pytest.approx(10.0)
        )
    with get_engine().connect() as conn:
        assert conn.execute(text("SELECT search_chunk_org_rows()")).scalar_one() == 0


def _plan(org_id: int, sql: str) -> str:
    """EXPLAIN of the hybrid search statement with sequential scans discouraged, as the app."""
    params = retrieve.search_params(
        org_id=org_id,
        query="torque AB-1234",
        query_vector=[0.1] * 384,
        embed_model="m",
        document_ids=None,
        k=20,
    )
    with get_engine().connect() as conn, conn.begin():
        set_tenant(conn, org_id)
        conn.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
        return "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql), params))


def test_hybrid_search_uses_its_indexes_under_rls(make_org) -> None:  # noqa: ANN001
    """A policy forbids non-leakproof operators (`@@`, `~*`) as index conditions on `chunks`;
    the search reads `tenant_chunks`, so its full-text and trigram arms keep their GIN indexes."""
    a, _ = _seed(make_org)
    with get_owner_engine().begin() as conn:  # enough rows that an index beats the org's rows
        conn.execute(
            text(
                "INSERT INTO chunks (org_id, document_id, ordinal, kind, page_start, page_end,"
                " section_path, heading, content, identifiers, positions, token_count,"
                " embed_model, embedding)"
                " SELECT org_id, document_id, g, 'text', 1, 1, '[]', '', 'filler ' || g,"
                " 'ZX-' || g, '[]', 1, embed_model, embedding"
                " FROM chunks, generate_series(1, 2000) g WHERE org_id = :o"
            ),
            {"o": a.org_id},
        )
        conn.execute(text("ANALYZE chunks"))
    plan = _plan(a.org_id, retrieve.HYBRID_SQL)
    assert "ix_chunks_tsv" in plan
    assert "ix_chunks_identifiers_trgm" in plan
    # The same statement on the table itself: the policy keeps both indexes out of the plan.
    on_table = _plan(a.org_id, retrieve.HYBRID_SQL.replace("tenant_chunks", "chunks"))
    assert "ix_chunks_tsv" not in on_table
    assert "ix_chunks_identifiers_trgm" not in on_table
    hits = retrieve.hybrid_search(
        org_id=a.org_id, query="torque AB-1234", query_vector=[0.1] * 384, embed_model="m"
    )
    assert hits and {h.filename for h in hits} == {"alpha.pdf"}
