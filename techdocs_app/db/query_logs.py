"""Query log: one row per question with per-stage timings (keyword-only, org-scoped)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from techdocs_app.db.models import QueryLog, insert_row


def add_query_log(
    session: Session,
    *,
    org_id: int,
    user_id: int | None,
    conversation_id: int | None,
    question: str,
    standalone_query: str = "",
    cache_hit: bool = False,
    n_sources: int = 0,
    not_found: bool = False,
    error: str | None = None,
    timings: dict[str, float] | None = None,
    outcome: str | None = None,
) -> QueryLog:
    """`outcome` is the answer's (answer | closest | not_found); without it, it follows from
    `not_found`; a question with an `error` is `failed`. The times to first token and to the
    whole answer are copied from `timings` into their columns (the usage page's percentiles)."""
    timings = timings or {}
    if error is not None:
        outcome = "failed"
    elif outcome is None:
        outcome = "not_found" if not_found else "answer"
    row = QueryLog(
        org_id=org_id,
        user_id=user_id,
        conversation_id=conversation_id,
        question=question[:10000],
        standalone_query=standalone_query[:10000],
        cache_hit=cache_hit,
        n_sources=n_sources,
        not_found=not_found,
        error=error,
        timings={k: round(float(v), 2) for k, v in timings.items()},
        outcome=outcome,
        first_token_ms=_ms(timings.get("first_token")),
        total_ms=_ms(timings.get("total")),
    )
    insert_row(session, row)
    return row


def _ms(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def list_query_logs(session: Session, *, org_id: int, limit: int = 100) -> list[QueryLog]:
    return list(
        session.exec(
            select(QueryLog)
            .where(QueryLog.org_id == org_id)
            .order_by(col(QueryLog.id).desc())
            .limit(limit)
        ).all()
    )


def purge_query_logs(session: Session, *, before: datetime, dry_run: bool = False) -> int:
    """Delete the query logs of every organization created before `before` (retention; run in a
    system session). Returns how many rows were (or, with `dry_run`, would be) deleted."""
    if dry_run:
        return int(
            session.exec(
                select(func.count()).select_from(QueryLog).where(QueryLog.created_at < before)
            ).one()
        )
    result = session.exec(delete(QueryLog).where(col(QueryLog.created_at) < before))
    return int(result.rowcount or 0)
