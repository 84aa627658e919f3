"""The usage summary of `GET /api/v1/usage` (keyword-only, org_id): questions by outcome this
month and per day, manuals and pages, seats. The question and library figures are the usage
page's own aggregates (`db.usage`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from techdocs_app.db import usage as usage_db

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
    totals = usage_db.question_totals(session, org_id=org_id, since=period_start)
    per_day: dict[date, int] = {
        d.day: d.answered + d.closest + d.not_found + d.failed
        for d in usage_db.questions_per_day(session, org_id=org_id, since=days_since)
    }
    library = usage_db.library_figures(session, org_id=org_id)
    return {
        "organization": dict(org),
        "questions": {
            "total": totals.total,
            # closest passages are an answer too (cited, labelled as not exact)
            "answered": totals.answered + totals.closest,
            "not_found": totals.not_found,
            "failed": totals.failed,
        },
        "per_day": per_day,
        "documents": {
            "total": library.manuals,
            "ready": library.ready,
            "failed": library.failed,
            "pages": library.pages,
        },
    }
