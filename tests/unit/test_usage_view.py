"""The usage page's wording and chart rows, from a report built by hand (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from techdocs_app.db import usage as usage_db
from techdocs_app.usage import DAYS, UsagePeriod, UsageReport
from techdocs_app.usage_view import (
    DAY_KEYS,
    FORMER_MEMBER,
    NO_MANUAL_CITED,
    ms_label,
    preview,
    share_label,
    size_label,
    usage_view,
)

TODAY = date(2026, 11, 15)


def _report(**changes: object) -> UsageReport:
    period = UsagePeriod.ending(TODAY)
    values: dict[str, object] = {
        "period": period,
        "month": usage_db.QuestionTotals(total=10, answered=6, closest=2, not_found=2, failed=0),
        "per_day": [usage_db.DayCount(d, 0, 0, 0, 0) for d in period.days],
        "per_technician": [
            usage_db.TechnicianCount(1, "Ann Owner", 7),
            usage_db.TechnicianCount(None, "", 3),
        ],
        "unanswered": [
            usage_db.UnansweredQuestion("torque for e04", 3, datetime(2026, 11, 14, tzinfo=UTC))
        ],
        "thumbs_down": [
            usage_db.ThumbsDown(
                7, 2, "Caliper torque?", "word " * 100, "", datetime(2026, 11, 3, tzinfo=UTC)
            )
        ],
        "library": usage_db.LibraryFigures(4, 2, 1, 1, 1500, 4200, 3 * 1024 * 1024),
        "failed_manuals": [usage_db.FailedManual(9, "locked.pdf", "")],
        "speed": usage_db.AnswerSpeed(8, 120.0, 480.0, 850.4, 2400.0),
    }
    values.update(changes)
    return UsageReport(**values)  # type: ignore[arg-type]


def test_period_covers_thirty_days_and_the_month() -> None:
    period = UsagePeriod.ending(TODAY)
    assert len(period.days) == DAYS
    assert (period.first_day, period.days[-1], period.month_start) == (
        date(2026, 10, 17),
        TODAY,
        date(2026, 11, 1),
    )


def test_labels() -> None:
    assert [size_label(n) for n in (0, 512, 2048, 3 * 1024**2, 5 * 1024**3)] == [
        "0 B",
        "512 B",
        "2.0 KB",
        "3.0 MB",
        "5.0 GB",
    ]
    assert [ms_label(v) for v in (None, 120.4, 999.0, 2400.0)] == ["—", "120 ms", "999 ms", "2.4 s"]
    assert (share_label(8, 10), share_label(0, 0)) == ("80%", "—")
    assert preview("a  b\n c") == "a b c"
    assert preview("x" * 300, 10) == "x" * 9 + "…"


def test_view_of_a_busy_shop() -> None:
    view = usage_view(_report())
    assert not view.new_shop
    assert [(t.label, t.value) for t in view.summary] == [
        ("Questions this month", "10"),
        ("Answered from your manuals", "80%"),
        ("Not in your manuals", "2"),
    ]
    assert view.summary[0].hint == "since 1 Nov"
    assert len(view.per_day) == DAYS
    assert view.per_day[-1] == {"day": "15 Nov", "answered": 0, "closest": 0, "not_found": 0}
    assert set(view.per_day[0]) == {"day", *DAY_KEYS}
    assert view.per_technician == [
        {"name": "Ann Owner", "questions": 7},
        {"name": FORMER_MEMBER, "questions": 3},
    ]
    assert (view.unanswered[0].question, view.unanswered[0].count) == ("torque for e04", 3)
    assert view.unanswered[0].last_asked == "14 Nov 2026"
    down = view.thumbs_down[0]
    assert down.manuals == NO_MANUAL_CITED and down.answer.endswith("…")
    assert [(t.label, t.value) for t in view.library] == [
        ("Manuals", "2"),
        ("Pages", "1,500"),
        ("Passages", "4,200"),
        ("Storage used", "3.0 MB"),
        ("Failed manuals", "1"),
    ]
    assert view.library[0].hint == "ready of 4, 1 processing"
    assert view.failed_manuals[0].error == "Processing failed."
    assert [t.value for t in view.speed] == ["120 ms", "480 ms", "850 ms", "2.4 s"]


def test_a_new_shop_gets_the_empty_state() -> None:
    empty = _report(
        month=usage_db.QuestionTotals(0, 0, 0, 0, 0),
        per_technician=[],
        unanswered=[],
        thumbs_down=[],
        library=usage_db.LibraryFigures(0, 0, 0, 0, 0, 0, 0),
        failed_manuals=[],
        speed=usage_db.AnswerSpeed(0, None, None, None, None),
    )
    view = usage_view(empty)
    assert view.new_shop
    assert [t.value for t in view.speed] == ["—"] * 4
    assert view.summary[1].value == "—"
