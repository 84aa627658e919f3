"""The benchmarks' own database: their rows never touch the app's data.

On the embedded Postgres each benchmark gets `<db><suffix>` (created and migrated when new), and
settings and the engine are pointed at it for the rest of the process. Searches run as the
application role (row-level security applies, as in the app); rows are written and indexes built
as the owner. With DATABASE_URL set (an external database) the benchmark refuses unless
BENCH_EXTERNAL_DB=1; then it runs there: its rows are organization-scoped and removed on rebuild.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from techdocs_app.errors import ValidationFailed

if TYPE_CHECKING:
    from sqlalchemy import Connection

EXTERNAL_FLAG = "BENCH_EXTERNAL_DB"
"""Set to 1 to run a benchmark in the database DATABASE_URL names (never a shop's production)."""


def use_bench_database(suffix: str) -> tuple[str, bool]:
    """Point settings and the engine at the benchmark database `<db><suffix>`.

    Returns its URL and whether it is the benchmark's own database (False: an external one)."""
    from techdocs_app import embedded
    from techdocs_app.db.engine import get_engine
    from techdocs_app.db.migrate import upgrade_head
    from techdocs_app.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        if os.environ.get(EXTERNAL_FLAG) != "1":
            raise ValidationFailed(
                "DATABASE_URL points at an external database: the benchmark would write 100,000 "
                "rows there and, on a rebuild, delete its organizations named bench-…. Run it "
                f"without DATABASE_URL (its own embedded database), or set {EXTERNAL_FLAG}=1."
            )
        return settings.database_url, False
    name = f"{settings.pg_database}{suffix}"
    embedded.ensure_database(settings, name)
    url = settings.embedded_database_url(name)
    owner_url = settings.embedded_database_url(name, owner=True)
    os.environ["DATABASE_URL"] = url
    os.environ["DATABASE_OWNER_URL"] = owner_url
    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade_head(owner_url, url)
    return url, True


def reusable_org(name: str, *, table: Literal["chunks", "query_logs"], rows: int) -> int | None:
    """The id of the benchmark organization `name` when it holds exactly `rows` rows of `table`
    (the data of an earlier run, reused); None when it must be built (again)."""
    from sqlalchemy import column, func, select, text
    from sqlalchemy import table as sql_table

    from techdocs_app.db.engine import get_owner_engine

    with get_owner_engine().connect() as conn:
        row = conn.execute(
            text("SELECT id FROM organizations WHERE name = :name"), {"name": name}
        ).first()
        if row is None:
            return None
        count = conn.execute(
            select(func.count())
            .select_from(sql_table(table, column("org_id")))
            .where(column("org_id") == row.id)
        ).scalar_one()
    return int(row.id) if count == rows else None


def remove_earlier_runs(
    conn: Connection, *, prefix: str, own_database: bool, with_users: bool = False
) -> None:
    """Before a rebuild: empty the benchmark's own database at once (deleting 100k+ chunks row by
    row fires the chunks.parent_id foreign-key check once per row, and parent_id has no index:
    minutes), or, in an external database, delete only the organizations named `<prefix>-…`
    and, `with_users`, the people of `…@<prefix>.invalid`."""
    from sqlalchemy import text

    if own_database:
        statement = (
            "TRUNCATE organizations, users CASCADE"
            if with_users
            else ("TRUNCATE organizations CASCADE")
        )
        conn.execute(text(statement))
        return
    conn.execute(
        text("DELETE FROM organizations WHERE name LIKE :prefix"), {"prefix": f"{prefix}-%"}
    )
    if with_users:
        conn.execute(
            text("DELETE FROM users WHERE email LIKE :pattern"),
            {"pattern": f"%@{prefix}.invalid"},
        )
