"""What a shop uses (owners and admins): the usage page's and the REST summary's figures.

`load_usage(principal)` checks `Action.VIEW_USAGE`, then runs every aggregate of `db.usage` in
one transaction scoped to the principal's organization. Periods are UTC: the last `DAYS` days
(today included) for the per-day chart, unanswered questions and answer speed; the calendar month
for the questions per technician and the month's totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from techdocs_app.auth import Principal
from techdocs_app.auth.permissions import Action, require
from techdocs_app.db import usage as usage_db
from techdocs_app.db.engine import session_scope

DAYS = 30


@dataclass(frozen=True)
class UsagePeriod:
    today: date
    month_start: date
    first_day: date
    """The first of the last `DAYS` days."""

    @classmethod
    def ending(cls, today: date) -> UsagePeriod:
        return cls(
            today=today,
            month_start=today.replace(day=1),
            first_day=today - timedelta(days=DAYS - 1),
        )

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(DAYS)]

    @property
    def month_since(self) -> datetime:
        return _midnight(self.month_start)

    @property
    def days_since(self) -> datetime:
        return _midnight(self.first_day)

    @property
    def counted_since(self) -> datetime:
        """The per-day counts cover both the 30 days and the month (on the 31st the month
        started 30 days ago): one aggregate gives the chart and the month's totals."""
        return _midnight(min(self.first_day, self.month_start))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


@dataclass(frozen=True)
class UsageReport:
    period: UsagePeriod
    month: usage_db.QuestionTotals
    per_day: list[usage_db.DayCount]
    """One entry per day of the period, oldest first (zeros where nothing was asked)."""
    per_technician: list[usage_db.TechnicianCount]
    unanswered: list[usage_db.UnansweredQuestion]
    thumbs_down: list[usage_db.ThumbsDown]
    library: usage_db.LibraryFigures
    failed_manuals: list[usage_db.FailedManual]
    speed: usage_db.AnswerSpeed

    @property
    def is_new_shop(self) -> bool:
        """Nothing uploaded and nothing asked yet: the page shows what to do first."""
        return (
            self.library.manuals == 0
            and self.month.total == 0
            and not any(d.answered + d.closest + d.not_found + d.failed for d in self.per_day)
        )


def load_usage(principal: Principal, *, today: date | None = None) -> UsageReport:
    """Every figure of the usage page for the principal's organization (owners and admins)."""
    require(principal, Action.VIEW_USAGE)
    period = UsagePeriod.ending(today or datetime.now(UTC).date())
    with session_scope(org_id=principal.org_id) as session:
        return collect(session, org_id=principal.org_id, period=period)


def collect(session: Session, *, org_id: int, period: UsagePeriod) -> UsageReport:
    """The aggregates, in the caller's (organization-scoped) session."""
    counted = {
        d.day: d
        for d in usage_db.questions_per_day(session, org_id=org_id, since=period.counted_since)
    }
    return UsageReport(
        period=period,
        month=month_totals(counted.values(), month_start=period.month_start),
        per_day=[counted.get(day) or usage_db.DayCount(day, 0, 0, 0, 0) for day in period.days],
        per_technician=usage_db.questions_per_technician(
            session, org_id=org_id, since=period.month_since
        ),
        unanswered=usage_db.top_unanswered(session, org_id=org_id, since=period.days_since),
        thumbs_down=usage_db.thumbs_down(session, org_id=org_id),
        library=usage_db.library_figures(session, org_id=org_id),
        failed_manuals=usage_db.failed_manuals(session, org_id=org_id),
        speed=usage_db.answer_speed(session, org_id=org_id, since=period.days_since),
    )


def month_totals(
    days: Iterable[usage_db.DayCount], *, month_start: date
) -> usage_db.QuestionTotals:
    """The month's questions by outcome, summed from the per-day counts."""
    month = [d for d in days if d.day >= month_start]
    answered = sum(d.answered for d in month)
    closest = sum(d.closest for d in month)
    not_found = sum(d.not_found for d in month)
    failed = sum(d.failed for d in month)
    return usage_db.QuestionTotals(
        total=answered + closest + not_found + failed,
        answered=answered,
        closest=closest,
        not_found=not_found,
        failed=failed,
    )
