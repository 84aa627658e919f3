"""Row-level security: the tenant policy, the application role, and the helpers migrations call.

How it works:
- Every tenant table has row-level security enabled and forced, with one policy for everyone:
  a row is visible, and may be written, only when its `org_id` equals the transaction's
  `app.org_id` setting (`db.engine.session_scope(org_id=...)` sets it with `set_config(...,
  true)`, i.e. `SET LOCAL`). A transaction that never set it sees no tenant rows at all.
- The application connects (`DATABASE_URL`) as a role that does not own the tables and has no
  BYPASSRLS, so the policy applies to every query it runs. The migrations create that role
  (the user named in `DATABASE_URL`) and grant it data privileges (never DDL, never TRUNCATE),
  including on tables later migrations add (default privileges).
- The owner (`DATABASE_OWNER_URL`, the role that runs the migrations) gets a second policy,
  `owner_maintenance`, that lets it see every organization: migrations, purges and the few
  identity lookups that happen before an organization is known (`system_session_scope`).

A new tenant table in a later migration: create it with an `org_id` column, then
`enable_tenant_rls("my_table")`. That is all: privileges come from the default privileges.

Search: a policy makes the planner refuse non-leakproof operators (full-text `@@`, regex `~*`)
as index conditions, and hides the table's planner statistics (`pg_stats`) from the querying
role. `tenant_chunks` (a view with the same tenant condition, owned by the owner) and
`search_chunk_org_rows()` / `search_lexeme_stats(...)` (SECURITY DEFINER, returning only the
current organization's row estimate and the frequencies of the words asked for) keep the hybrid
search on its indexes. See `CHUNK_SEARCH_SQL`.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote, urlparse

log = logging.getLogger(__name__)

TENANT_SETTING = "app.org_id"

CURRENT_ORG_SQL = "NULLIF(current_setting('app.org_id', true), '')::bigint"
"""The transaction's organization, NULL when unset. After a `SET LOCAL` ends, the setting reads as
'' (not NULL) for the rest of the connection's life, hence NULLIF: '' would not cast to bigint."""

TENANT_POLICY = "tenant_isolation"
OWNER_POLICY = "owner_maintenance"

TENANT_TABLES: tuple[str, ...] = (
    "memberships",
    "invitations",
    "auth_sessions",
    "documents",
    "chunks",
    "conversations",
    "messages",
    "query_logs",
)
"""Tables with an `org_id` column under the tenant policy (as of the teams migration; later
migrations add theirs with `enable_tenant_rls`). `organizations` is keyed by its `id`, `users`
by membership, and `webhook_events` (no organization) is visible to the owner only."""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def tenant_rls_statements(table: str, *, condition: str | None = None) -> list[str]:
    """The DDL that puts `table` under the tenant policy (`org_id` = the transaction's org).

    `condition` replaces the default `org_id = <current org>` (organizations and users use it).
    """
    t = _ident(table)
    cond = condition or f"org_id = {CURRENT_ORG_SQL}"
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {t}",
        f"CREATE POLICY {TENANT_POLICY} ON {t} USING ({cond}) WITH CHECK ({cond})",
        f"DROP POLICY IF EXISTS {OWNER_POLICY} ON {t}",
        f"CREATE POLICY {OWNER_POLICY} ON {t} TO CURRENT_USER USING (true) WITH CHECK (true)",
    ]


def owner_only_statements(table: str) -> list[str]:
    """RLS with no tenant policy: only the owner sees rows (tables without an organization)."""
    t = _ident(table)
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {OWNER_POLICY} ON {t}",
        f"CREATE POLICY {OWNER_POLICY} ON {t} TO CURRENT_USER USING (true) WITH CHECK (true)",
    ]


def disable_rls_statements(table: str) -> list[str]:
    t = _ident(table)
    return [
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {t}",
        f"DROP POLICY IF EXISTS {OWNER_POLICY} ON {t}",
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]


def enable_tenant_rls(table: str) -> None:
    """Call from a migration's `upgrade()` after creating a tenant table (with `org_id`)."""
    from alembic import op

    for statement in tenant_rls_statements(table):
        op.execute(statement)


def disable_tenant_rls(table: str) -> None:
    """The inverse, for a migration's `downgrade()` (dropping the table drops its policies too)."""
    from alembic import op

    for statement in disable_rls_statements(table):
        op.execute(statement)


# ---- search: what keeps the hybrid search on its indexes under RLS ------------------------------

CHUNK_SEARCH_SQL: tuple[str, ...] = (
    # Same tenant condition as the policy. A view runs with its owner's rights on `chunks` (whose
    # owner policy lets every row through), so the planner may use the GIN indexes for `@@` and
    # `~*`; the view's own WHERE keeps it to the transaction's organization. Not a security
    # barrier on purpose (that would forbid the same index use); read-only for the app role.
    f"""
    CREATE OR REPLACE VIEW tenant_chunks AS
    SELECT * FROM chunks WHERE org_id = {CURRENT_ORG_SQL}
    WITH CASCADED CHECK OPTION
    """,  # noqa: S608 - module constants only
    # The current organization's estimated chunk count from the planner statistics (pg_stats
    # hides a table's statistics from a role that row-level security applies to).
    f"""
    CREATE OR REPLACE FUNCTION search_chunk_org_rows() RETURNS float8
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT coalesce((
            SELECT s.freq
            FROM pg_stats ps,
                 unnest(CAST(CAST(ps.most_common_vals AS text) AS bigint[]),
                        ps.most_common_freqs) AS s(org_id, freq)
            WHERE ps.schemaname = 'public' AND ps.tablename = 'chunks'
              AND ps.attname = 'org_id' AND s.org_id = {CURRENT_ORG_SQL}
        ), 0) * greatest((SELECT reltuples FROM pg_class
                          WHERE oid = to_regclass('public.chunks')), 0)
    $$
    """,  # noqa: S608 - module constants only
    # The statistics' frequencies of the asked lexemes only (then the minimum frequency the
    # statistics keep, as pg_stats lists it): the same shape as pg_stats' most_common_elems /
    # most_common_elem_freqs, restricted to the words of the question.
    """
    CREATE OR REPLACE FUNCTION search_lexeme_stats(lexemes text[])
    RETURNS TABLE (elems text[], freqs real[])
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        SELECT coalesce((SELECT array_agg(u.elem ORDER BY u.i)
                         FROM unnest(st.elems) WITH ORDINALITY AS u(elem, i)
                         WHERE u.elem = ANY (lexemes)), CAST('{}' AS text[])),
               coalesce((SELECT array_agg(st.freqs[u.i] ORDER BY u.i)
                         FROM unnest(st.elems) WITH ORDINALITY AS u(elem, i)
                         WHERE u.elem = ANY (lexemes)), CAST('{}' AS real[]))
                 || st.freqs[cardinality(st.elems) + 1]
        FROM (SELECT CAST(CAST(ps.most_common_elems AS text) AS text[]) AS elems,
                     ps.most_common_elem_freqs AS freqs
              FROM pg_stats ps
              WHERE ps.schemaname = 'public' AND ps.tablename = 'chunks'
                AND ps.attname = 'tsv') AS st
    $$
    """,
    "REVOKE ALL ON FUNCTION search_chunk_org_rows() FROM PUBLIC",
    "REVOKE ALL ON FUNCTION search_lexeme_stats(text[]) FROM PUBLIC",
)

DROP_CHUNK_SEARCH_SQL: tuple[str, ...] = (
    "DROP FUNCTION IF EXISTS search_lexeme_stats(text[])",
    "DROP FUNCTION IF EXISTS search_chunk_org_rows()",
    "DROP VIEW IF EXISTS tenant_chunks",
)


# ---- the application role -----------------------------------------------------------------------


def role_from_url(url: str) -> tuple[str, str | None]:
    """(user, password or None) of a Postgres URL."""
    parsed = urlparse(url.replace("postgresql+psycopg://", "postgresql://", 1))
    if not parsed.username:
        raise ValueError("the database URL names no user")
    password = unquote(parsed.password) if parsed.password else None
    return unquote(parsed.username), password


def _quote_literal(connection: Any, value: str) -> str:
    from psycopg import sql

    raw = connection.connection.driver_connection
    return sql.Literal(value).as_string(raw)


def ensure_app_role(connection: Any, app_url: str) -> str | None:
    """Create the application role named in `app_url` if missing (LOGIN, with the URL's password),
    refuse one that bypasses row-level security, and grant it data privileges on this schema's
    tables and sequences, now and for tables created later by the owner (default privileges).

    `connection` is the owner's (a SQLAlchemy Connection in a transaction). Returns the role, or
    None when the app connects as the owner itself (one URL for both: development only).
    """
    from sqlalchemy import text

    role, password = role_from_url(app_url)
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    if role == owner:
        log.warning(
            "DATABASE_URL connects as the tables' owner %r: row-level security does not apply to "
            "it. Set DATABASE_OWNER_URL to the owner and DATABASE_URL to an application role.",
            owner,
        )
        return None
    quoted = _ident_any(role)
    found = connection.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    if found is None:
        statement = f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
        if password:
            statement += f" PASSWORD {_quote_literal(connection, password)}"
        connection.exec_driver_sql(statement)
    elif found.rolsuper or found.rolbypassrls:
        raise RuntimeError(
            f"The application role {role!r} (the user of DATABASE_URL) is a superuser or has "
            "BYPASSRLS, so row-level security would not protect anything. Use a plain role: "
            f"ALTER ROLE {quoted} NOSUPERUSER NOBYPASSRLS (as a superuser), or another user."
        )
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    database = connection.execute(text("SELECT current_database()")).scalar_one()
    s, db = _ident_any(schema), _ident_any(database)
    for statement in (
        f"GRANT CONNECT ON DATABASE {db} TO {quoted}",
        f"GRANT USAGE ON SCHEMA {s} TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ):
        connection.exec_driver_sql(statement)
    # Schema bookkeeping and the search view are read-only for the app; the search statistics
    # functions are the only functions it is granted.
    for table in ("alembic_version", "tenant_chunks"):
        if connection.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None:
            connection.exec_driver_sql(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {quoted}")
    for function in ("search_chunk_org_rows()", "search_lexeme_stats(text[])"):
        if (
            connection.execute(text("SELECT to_regprocedure(:f)"), {"f": function}).scalar()
            is not None
        ):
            connection.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {function} TO {quoted}")
    return role


def _ident_any(name: str) -> str:
    """Quote any identifier (role and database names come from URLs)."""
    return '"' + name.replace('"', '""') + '"'


def app_role_problems(connection: Any) -> list[str]:
    """Why the current connection's role would not be held by row-level security (empty: fine)."""
    from sqlalchemy import text

    row = connection.execute(
        text(
            "SELECT r.rolsuper, r.rolbypassrls, "
            "       EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid "
            "               AND c.relname = 'documents') AS owns_tables "
            "FROM pg_roles r WHERE r.rolname = current_user"
        )
    ).one()
    problems = []
    if row.rolsuper:
        problems.append("it is a superuser")
    if row.rolbypassrls:
        problems.append("it has BYPASSRLS")
    if row.owns_tables:
        problems.append("it owns the tables")
    return problems
