"""The usage summary the REST API serves (owners and admins)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, require
from techdocs_app.db import api_usage
from techdocs_app.db.engine import session_scope
from techdocs_app.errors import NotFound

DAYS = 30


def usage_summary(principal: Principal, *, today: date | None = None) -> dict:
    require(principal, Action.VIEW_USAGE)
    today = today or datetime.now(UTC).date()
    period_start = today.replace(day=1)
    first_day = today - timedelta(days=DAYS - 1)
    with session_scope(org_id=principal.org_id) as session:
        raw = api_usage.usage_summary(
            session,
            org_id=principal.org_id,
            period_start=datetime.combine(period_start, datetime.min.time(), UTC),
            days_since=datetime.combine(first_day, datetime.min.time(), UTC),
        )
    if raw is None:
        raise NotFound("Your organization was not found.")
    org, questions, documents = raw["organization"], raw["questions"], raw["documents"]
    return {
        "organization": org["name"],
        "plan": org["plan"],
        "seats_used": int(org["seats_used"]),
        "seat_limit": int(org["seat_limit"]),
        "trial_ends_at": org["trial_ends_at"],
        "period_start": period_start,
        "questions_this_period": questions["total"],
        "answered_this_period": questions["answered"],
        "not_found_this_period": questions["not_found"],
        "failed_this_period": questions["failed"],
        "questions_per_day": [
            {"date": day, "questions": raw["per_day"].get(day, 0)}
            for day in (first_day + timedelta(days=i) for i in range(DAYS))
        ],
        "documents": documents["total"],
        "documents_ready": documents["ready"],
        "documents_failed": documents["failed"],
        "pages": documents["pages"],
    }
