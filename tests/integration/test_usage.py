"""The usage page's figures against known rows in the real Postgres: exact counts per aggregate,
one organization never sees another's figures, and a member (technician) is refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from techdocs_app import usage
from techdocs_app.auth import Principal
from techdocs_app.db import conversations as conversations_db
from techdocs_app.db import query_logs
from techdocs_app.db import usage as usage_db
from techdocs_app.db.engine import session_scope, system_session_scope
from techdocs_app.db.models import Document, Membership, User
from techdocs_app.errors import PermissionDenied
from techdocs_app.rest import usage as rest_usage

TODAY = date(2026, 11, 15)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _add_member(principal: Principal, *, name: str, email: str) -> int:
    with system_session_scope() as session:
        user = User(email=email, name=name)
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(Membership(org_id=principal.org_id, user_id=user.id, role="member"))
        return user.id


def _log(
    principal: Principal,
    *,
    user_id: int,
    when: datetime,
    question: str = "What is the torque?",
    outcome: str | None = "answer",
    error: str | None = None,
    total_ms: float = 500.0,
    first_token_ms: float = 50.0,
) -> None:
    with session_scope(org_id=principal.org_id) as session:
        row = query_logs.add_query_log(
            session,
            org_id=principal.org_id,
            user_id=user_id,
            conversation_id=None,
            question=question,
            not_found=outcome == "not_found",
            error=error,
            outcome=outcome if outcome != "not_found" else None,
            timings={"first_token": first_token_ms, "total": total_ms},
        )
        session.connection().execute(
            text("UPDATE query_logs SET created_at = :at WHERE id = :id"),
            {"at": when, "id": row.id},
        )


def _seed_questions(owner: Principal, bob: int) -> None:
    """Ten rows of the last 30 days with total 100..1000 ms (first token 10..100 ms), a failed
    one (slow, left out of the speed figures) and older rows outside every period."""
    speed = iter(range(1, 11))

    def log(user_id: int, when: datetime, **kwargs: object) -> None:
        i = next(speed)
        _log(
            owner, user_id=user_id, when=when, total_ms=100.0 * i, first_token_ms=10.0 * i, **kwargs
        )  # type: ignore[arg-type]

    today = _at(TODAY)
    for _ in range(3):
        log(owner.user_id, today)
    log(bob, today, outcome="closest")
    log(bob, today, outcome="not_found", question="Torque for E04?")
    log(bob, today + timedelta(hours=1), outcome="not_found", question="torque   for  e04")
    log(owner.user_id, today, outcome="not_found", question="TORQUE FOR E04!")
    log(bob, _at(date(2026, 11, 1)))
    log(
        owner.user_id,
        _at(date(2026, 10, 20)),
        outcome="not_found",
        question="Where is the fuse box",
    )
    log(owner.user_id, _at(date(2026, 10, 20)))
    _log(
        owner,
        user_id=owner.user_id,
        when=_at(date(2026, 11, 1)),
        outcome=None,
        error="ProviderTimeout:answer timed out",
        total_ms=99_999.0,
        first_token_ms=99_999.0,
    )
    for _ in range(5):
        _log(owner, user_id=bob, when=_at(date(2026, 10, 10)), total_ms=50_000.0)
    _log(
        owner,
        user_id=bob,
        when=_at(date(2026, 10, 10)),
        outcome="not_found",
        question="An old question",
    )


def _seed_thumbs_down(owner: Principal) -> int:
    sources = [
        {
            "number": 1,
            "document_title": "Brake service manual",
            "filename": "brakes.pdf",
            "page_start": 41,
        },
        {"number": 2, "document_title": "", "filename": "hvac.pdf", "page_start": 3},
        {"number": 3, "document_title": "Never cited", "filename": "x.pdf", "page_start": 9},
    ]
    with session_scope(org_id=owner.org_id) as session:
        conv = conversations_db.create_conversation(
            session, org_id=owner.org_id, user_id=owner.user_id, title="Brakes"
        )
        assert conv.id is not None
        add = conversations_db.add_message
        add(
            session,
            org_id=owner.org_id,
            conversation_id=conv.id,
            role="user",
            content="Caliper bolt torque?",
        )
        bad = add(
            session,
            org_id=owner.org_id,
            conversation_id=conv.id,
            role="assistant",
            content="Use 120 N·m [1]. See also the table [1, 2].",
            sources=sources,
        )
        add(
            session,
            org_id=owner.org_id,
            conversation_id=conv.id,
            role="user",
            content="And the wheel nuts?",
        )
        good = add(
            session,
            org_id=owner.org_id,
            conversation_id=conv.id,
            role="assistant",
            content="140 N·m [1].",
            sources=sources,
        )
        assert bad.id is not None and good.id is not None
        conversations_db.set_feedback(session, org_id=owner.org_id, message_id=bad.id, value=-1)
        conversations_db.set_feedback(session, org_id=owner.org_id, message_id=good.id, value=1)
        return bad.id


def _seed_library(owner: Principal) -> None:
    rows = [
        ("pump.pdf", "ready", 10, 30, 1000, None),
        ("boiler.pdf", "ready", 5, 12, 500, None),
        ("locked.pdf", "failed", 0, 0, 200, "This PDF is password-protected."),
        ("new.pdf", "processing", 7, 0, 300, None),
    ]
    with session_scope(org_id=owner.org_id) as session:
        for i, (name, status, pages, chunks, size, error) in enumerate(rows):
            session.add(
                Document(
                    org_id=owner.org_id,
                    filename=name,
                    sha256=f"{i:064d}",
                    size_bytes=size,
                    pages=pages,
                    chunk_count=chunks,
                    status=status,
                    error_message=error,
                    storage_key=f"k/{i}",
                )
            )


@pytest.fixture
def shop(make_org) -> tuple[Principal, int]:  # noqa: ANN001
    owner = make_org("Usage Shop")
    bob = _add_member(owner, name="Bob Tech", email="bob@usage.example")
    _seed_questions(owner, bob)
    _seed_library(owner)
    return owner, bob


def test_questions_per_day_and_month_totals(shop) -> None:  # noqa: ANN001
    owner, _ = shop
    report = usage.load_usage(owner, today=TODAY)
    assert len(report.per_day) == usage.DAYS
    assert report.per_day[0].day == date(2026, 10, 17)
    assert report.per_day[-1].day == TODAY
    by_day = {d.day: d for d in report.per_day if d.answered + d.closest + d.not_found + d.failed}
    assert by_day == {
        TODAY: usage_db.DayCount(TODAY, answered=3, closest=1, not_found=3, failed=0),
        date(2026, 11, 1): usage_db.DayCount(date(2026, 11, 1), 1, 0, 0, 1),
        date(2026, 10, 20): usage_db.DayCount(date(2026, 10, 20), 1, 0, 1, 0),
    }
    assert report.month == usage_db.QuestionTotals(
        total=9, answered=4, closest=1, not_found=3, failed=1
    )


def test_questions_per_technician_this_month(shop) -> None:  # noqa: ANN001
    owner, bob = shop
    report = usage.load_usage(owner, today=TODAY)
    assert [(t.user_id, t.questions) for t in report.per_technician] == [
        (owner.user_id, 5),
        (bob, 4),
    ]
    assert report.per_technician[1].name == "Bob Tech"


def test_top_unanswered_groups_normalised_text(shop) -> None:  # noqa: ANN001
    owner, _ = shop
    report = usage.load_usage(owner, today=TODAY)
    assert [(q.question, q.count) for q in report.unanswered] == [
        ("torque for e04", 3),
        ("where is the fuse box", 1),
    ]
    assert report.unanswered[0].last_asked == _at(TODAY) + timedelta(hours=1)


def test_answer_speed_percentiles_leave_out_failures_and_old_rows(shop) -> None:  # noqa: ANN001
    owner, _ = shop
    speed = usage.load_usage(owner, today=TODAY).speed
    assert speed == usage_db.AnswerSpeed(
        answers=10,
        first_token_p50_ms=55.0,
        first_token_p95_ms=95.5,
        total_p50_ms=550.0,
        total_p95_ms=955.0,
    )


def test_thumbs_down_with_question_and_cited_manuals(shop) -> None:  # noqa: ANN001
    owner, _ = shop
    bad_id = _seed_thumbs_down(owner)
    report = usage.load_usage(owner, today=TODAY)
    assert len(report.thumbs_down) == 1
    item = report.thumbs_down[0]
    assert item.message_id == bad_id
    assert item.question == "Caliper bolt torque?"
    assert item.answer.startswith("Use 120 N·m [1]")
    assert item.manuals == "Brake service manual p. 41, hvac.pdf p. 3"


def test_library_figures_and_failed_manuals(shop) -> None:  # noqa: ANN001
    owner, _ = shop
    report = usage.load_usage(owner, today=TODAY)
    assert report.library == usage_db.LibraryFigures(
        manuals=4, ready=2, processing=1, failed=1, pages=15, passages=42, storage_bytes=2000
    )
    assert [(f.filename, f.error) for f in report.failed_manuals] == [
        ("locked.pdf", "This PDF is password-protected.")
    ]
    assert not report.is_new_shop


def test_rest_summary_uses_the_same_aggregates(shop) -> None:  # noqa: ANN001
    owner, _ = shop
    summary = rest_usage.usage_summary(owner, today=TODAY)
    assert summary["questions_this_period"] == 9
    assert summary["answered_this_period"] == 5  # answers and closest passages
    assert summary["not_found_this_period"] == 3
    assert summary["failed_this_period"] == 1
    per_day = {d["date"]: d["questions"] for d in summary["questions_per_day"]}
    assert per_day[TODAY] == 7 and per_day[date(2026, 11, 1)] == 2
    assert (summary["documents"], summary["documents_failed"], summary["pages"]) == (4, 1, 15)


def test_another_shop_sees_none_of_it(shop, make_org) -> None:  # noqa: ANN001
    owner, _ = shop
    _seed_thumbs_down(owner)
    other = make_org("Other Shop")
    report = usage.load_usage(other, today=TODAY)
    assert report.month == usage_db.QuestionTotals(0, 0, 0, 0, 0)
    assert all(d.answered + d.closest + d.not_found + d.failed == 0 for d in report.per_day)
    assert report.per_technician == []
    assert report.unanswered == []
    assert report.thumbs_down == []
    assert report.library == usage_db.LibraryFigures(0, 0, 0, 0, 0, 0, 0)
    assert report.failed_manuals == []
    assert report.speed.answers == 0 and report.speed.total_p50_ms is None
    assert report.is_new_shop
    # Even asking for the first shop's id inside the other's transaction finds nothing (RLS).
    with session_scope(org_id=other.org_id) as session:
        period = usage.UsagePeriod.ending(TODAY)
        leaked = usage.collect(session, org_id=owner.org_id, period=period)
    assert leaked.month.total == 0 and leaked.library.manuals == 0 and leaked.thumbs_down == []


def test_member_is_refused_admin_is_allowed(shop) -> None:  # noqa: ANN001
    owner, _ = shop
    with pytest.raises(PermissionDenied) as refused:
        usage.load_usage(replace(owner, role="member"), today=TODAY)
    assert "owner or an admin" in refused.value.user_message
    assert usage.load_usage(replace(owner, role="admin"), today=TODAY).month.total == 9


def test_query_log_row_keeps_outcome_speed_and_question_key(make_org) -> None:  # noqa: ANN001
    owner = make_org("Log Shop")
    with session_scope(org_id=owner.org_id) as session:
        kwargs = {"org_id": owner.org_id, "user_id": owner.user_id, "conversation_id": None}
        add = query_logs.add_query_log
        ids = [
            add(
                session,
                **kwargs,
                question="  Torque  FOR e04?! ",
                not_found=True,
                timings={"first_token": 12.345, "total": 99.5},
            ).id,
            add(session, **kwargs, question="q", outcome="closest", timings={"total": 5}).id,
            add(session, **kwargs, question="q", error="ProviderTimeout:", not_found=True).id,
            add(session, **kwargs, question="q").id,
        ]
        rows = (
            session.connection()
            .execute(
                text(
                    "SELECT outcome, first_token_ms, total_ms, question_key FROM query_logs "
                    "WHERE id = ANY(:ids) ORDER BY id"
                ),
                {"ids": ids},
            )
            .all()
        )
    assert [tuple(r) for r in rows] == [
        ("not_found", 12.35, 99.5, "torque for e04"),
        ("closest", None, 5.0, "q"),
        ("failed", None, None, "q"),
        ("answer", None, None, "q"),
    ]
