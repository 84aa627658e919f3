"""The usage summary of `GET /api/v1/usage` (keyword-only, org_id): questions by outcome this
month and per day, manuals and pages, seats."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

_QUESTIONS = text(
    """
    SELECT count(*) AS total,
           count(*) FILTER (WHERE error IS NULL AND NOT not_found) AS answered,
           count(*) FILTER (WHERE error IS NULL AND not_found) AS not_found,
           count(*) FILTER (WHERE error IS NOT NULL) AS failed
    FROM query_logs
    WHERE org_id = :org_id AND created_at >= :since
    """
)
_PER_DAY = text(
    """
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
    FROM query_logs
    WHERE org_id = :org_id AND created_at >= :since
    GROUP BY day
    """
)
_DOCUMENTS = text(
    """
    SELECT count(*) AS total,
           count(*) FILTER (WHERE status = 'ready') AS ready,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           coalesce(sum(pages) FILTER (WHERE status = 'ready'), 0) AS pages
    FROM documents
    WHERE org_id = :org_id
    """
)
_ORGANIZATION = text(
    """
    SELECT o.name, o.plan, o.seat_limit, o.trial_ends_at,
           (SELECT count(*) FROM memberships m WHERE m.org_id = o.id) AS seats_used
    FROM organizations o
    WHERE o.id = :org_id
    """
)


def usage_summary(
    session: Session, *, org_id: int, period_start: datetime, days_since: datetime
) -> dict[str, Any] | None:
    conn = session.connection()
    org = conn.execute(_ORGANIZATION, {"org_id": org_id}).mappings().first()
    if org is None:
        return None
    questions = conn.execute(_QUESTIONS, {"org_id": org_id, "since": period_start}).mappings().one()
    per_day: dict[date, int] = {
        row.day: int(row.n)
        for row in conn.execute(_PER_DAY, {"org_id": org_id, "since": days_since})
    }
    documents = conn.execute(_DOCUMENTS, {"org_id": org_id}).mappings().one()
    return {
        "organization": dict(org),
        "questions": {k: int(v) for k, v in questions.items()},
        "per_day": per_day,
        "documents": {k: int(v) for k, v in documents.items()},
    }
