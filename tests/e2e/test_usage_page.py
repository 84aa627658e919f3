"""/usage in the browser, at desktop and phone size: a new shop sees what to do first; with
questions, manuals and a 👎 answer in its query log the charts and lists render; a member
(technician) gets the permission refusal and no Usage link. Screenshots in artifacts/screenshots/.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.e2e.accounts import PASSWORD, sign_up_owner, url_at

pytestmark = pytest.mark.e2e


def _org_of(email: str) -> tuple[int, int]:
    from techdocs_app.db.engine import system_session_scope

    with system_session_scope() as session:
        row = (
            session.connection()
            .execute(
                text(
                    "SELECT m.org_id, u.id FROM users u JOIN memberships m ON m.user_id = u.id "
                    "WHERE u.email = :email"
                ),
                {"email": email},
            )
            .one()
        )
    return int(row.org_id), int(row.id)


def _thumbs_down(
    session: Any,
    org_id: int,
    user_id: int,
    *,
    question: str,
    answer: str,
    source: tuple[str, str, int],
) -> None:
    """A conversation whose one answer (citing `source`: title, file name, page) got a 👎."""
    from techdocs_app.db import conversations as conversations_db

    conv = conversations_db.create_conversation(
        session, org_id=org_id, user_id=user_id, title=question[:40]
    )
    assert conv.id is not None
    conversations_db.add_message(
        session, org_id=org_id, conversation_id=conv.id, role="user", content=question
    )
    title, filename, page = source
    reply = conversations_db.add_message(
        session,
        org_id=org_id,
        conversation_id=conv.id,
        role="assistant",
        content=answer,
        sources=[{"number": 1, "document_title": title, "filename": filename, "page_start": page}],
    )
    assert reply.id is not None
    conversations_db.set_feedback(session, org_id=org_id, message_id=reply.id, value=-1)


def _seed_usage(org_id: int, user_id: int) -> None:
    """Questions of today and yesterday, two manuals (one failed) and a 👎 answer."""
    from techdocs_app.db import query_logs
    from techdocs_app.db.engine import session_scope
    from techdocs_app.db.models import Document

    now = datetime.now(UTC)
    rows = [
        ("answer", "Torque for the caliper bolts?", now),
        ("answer", "Clearance of the blower bearing?", now),
        ("closest", "Reset procedure for the igniter?", now),
        ("not_found", "Where is the E04 fuse?", now),
        ("not_found", "where is the  e04 fuse", now - timedelta(days=1)),
        ("answer", "Part number of the pump gasket?", now - timedelta(days=1)),
    ]
    with session_scope(org_id=org_id) as session:
        for i, (outcome, question, when) in enumerate(rows):
            row = query_logs.add_query_log(
                session,
                org_id=org_id,
                user_id=user_id,
                conversation_id=None,
                question=question,
                not_found=outcome == "not_found",
                outcome=None if outcome == "not_found" else outcome,
                timings={"first_token": 150.0 + 10 * i, "total": 900.0 + 100 * i},
            )
            session.connection().execute(
                text("UPDATE query_logs SET created_at = :at WHERE id = :id"),
                {"at": when, "id": row.id},
            )
        for i, (name, status, error) in enumerate(
            [
                ("boiler.pdf", "ready", None),
                ("locked.pdf", "failed", "This PDF is password-protected."),
            ]
        ):
            session.add(
                Document(
                    org_id=org_id,
                    filename=name,
                    sha256=f"{org_id:032d}{i:032d}",
                    size_bytes=2_500_000,
                    pages=120 if status == "ready" else 0,
                    chunk_count=340 if status == "ready" else 0,
                    status=status,
                    error_message=error,
                    storage_key=f"e2e/{org_id}/{i}",
                )
            )
        _thumbs_down(
            session,
            org_id,
            user_id,
            question="Torque for the caliper bolts?",
            answer="Tighten to 120 N·m [1].",
            source=("Boiler manual", "boiler.pdf", 41),
        )


def _add_member(org_id: int, email: str) -> None:
    from techdocs_app.auth.local import hash_password
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import Membership, User

    with system_session_scope() as session:
        user = User(email=email, name="Tech", password_hash=hash_password(PASSWORD))
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(Membership(org_id=org_id, user_id=user.id, role="member"))


@pytest.mark.parametrize("viewport", ["1024x768", "390x844"])
def test_usage_page_empty_then_charts_and_member_refused(
    new_page: Callable[[str], Page], app_url: str, screenshot_dir: Path, viewport: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    owner_email = f"owner-{tag}@usage.example"
    owner = new_page(viewport)
    sign_up_owner(owner, app_url, f"Usage Garage {tag}", owner_email)

    nav = owner.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Usage")).to_have_count(1)
    nav.get_by_role("link", name="Usage").click()
    expect(owner).to_have_url(url_at(app_url, "/usage"))

    # A new shop: what to do first.
    expect(owner.get_by_role("heading", name="No usage yet")).to_be_visible()
    expect(owner.get_by_role("button", name="Upload your first manual")).to_be_visible()
    owner.screenshot(path=str(screenshot_dir / f"usage-empty-{viewport}.png"), full_page=True)

    org_id, user_id = _org_of(owner_email)
    _seed_usage(org_id, user_id)
    owner.reload()

    expect(owner.get_by_role("heading", name="Questions per day")).to_be_visible()
    charts = owner.locator(".td-usage-chart .recharts-wrapper")
    expect(charts).to_have_count(2)
    expect(owner.locator(".recharts-bar-rectangle").first).to_be_attached()
    assert owner.locator(".recharts-bar-rectangle").count() >= 4  # 3 series on 2 days + 1 person
    expect(owner.get_by_text("Questions this month")).to_be_visible()
    unanswered = owner.get_by_role("list", name="Top unanswered questions")
    expect(unanswered).to_contain_text("where is the e04 fuse")
    expect(unanswered).to_contain_text("2")
    thumbs = owner.get_by_role("list", name="Answers marked thumbs down")
    expect(thumbs).to_contain_text("Torque for the caliper bolts?")
    expect(thumbs).to_contain_text("Boiler manual p. 41")
    expect(owner.get_by_role("list", name="Manuals that failed")).to_contain_text("locked.pdf")
    expect(owner.get_by_role("group", name="Answer speed")).to_contain_text("ms")
    # Nothing on the page reaches past the screen's right edge (a phone too).
    right = owner.evaluate(
        "Math.max(...[...document.querySelectorAll('.td-main *')]"
        ".map(e => e.getBoundingClientRect().right))"
    )
    assert right <= owner.viewport_size["width"] + 1, right  # type: ignore[index]
    owner.screenshot(path=str(screenshot_dir / f"usage-{viewport}.png"), full_page=True)

    # A member (technician): no Usage link, and the page refuses in words.
    member_email = f"tech-{tag}@usage.example"
    _add_member(org_id, member_email)
    member = new_page(viewport)
    member.goto(app_url + "/signin")
    member.get_by_label("Email", exact=True).fill(member_email)
    member.get_by_label("Password", exact=True).fill(PASSWORD)
    member.get_by_role("button", name="Sign in").click()
    expect(member.get_by_placeholder("Ask about your manuals")).to_be_visible()
    member_nav = member.get_by_role("navigation", name="Main")
    expect(member_nav.get_by_role("link", name="Library")).to_be_attached()
    expect(member_nav.get_by_role("link", name="Usage")).to_have_count(0)
    member.goto(app_url + "/usage")
    expect(member.get_by_text("Only the shop's owner or an admin can see usage.")).to_be_visible()
    expect(member.locator(".recharts-wrapper")).to_have_count(0)
    member.screenshot(path=str(screenshot_dir / f"usage-member-{viewport}.png"), full_page=True)


def _seed_hostile(org_id: int, user_id: int, markup: dict[str, str]) -> None:
    """What a hostile manual and a curious technician leave in the usage lists: markup in an
    unanswered question, in the question and answer of a 👎 message, in the cited manual's title
    and file name, and in a failed manual's file name."""
    from techdocs_app.db import query_logs
    from techdocs_app.db.engine import session_scope
    from techdocs_app.db.models import Document

    with session_scope(org_id=org_id) as session:
        query_logs.add_query_log(
            session,
            org_id=org_id,
            user_id=user_id,
            conversation_id=None,
            question=f"where is the fuse {markup['question']}",
            not_found=True,
            outcome=None,
            timings={"first_token": 120.0, "total": 800.0},
        )
        session.add(
            Document(
                org_id=org_id,
                filename=f"locked {markup['filename']}.pdf",
                sha256=f"{org_id:032d}{99:032d}",
                size_bytes=1_000,
                pages=0,
                chunk_count=0,
                status="failed",
                error_message="This PDF is password-protected.",
                storage_key=f"e2e/{org_id}/hostile",
            )
        )
        _thumbs_down(
            session,
            org_id,
            user_id,
            question=f"Torque of the hub {markup['question']}?",
            answer=f"Tighten to 95 N·m {markup['answer']} [1].",
            source=(f"Zeta9 {markup['title']} manual", f"zeta9 {markup['filename']}.pdf", 3),
        )


def test_markup_in_usage_lists_never_runs_and_shows_as_text(
    new_page: Callable[[str], Page], app_url: str
) -> None:
    """Issue 10 §1 on the Usage page: every list shows a manual's or a question's markup as text."""
    from tests.e2e.test_hostile_manual import WATCH, _never_ran

    markup = {
        "question": "<img src=x onerror=\"window.tdPwned='question'\">",
        "answer": "<iframe srcdoc=\"<script>parent.tdPwned='answer'</script>\"></iframe>",
        "title": "<img src=x onerror=\"window.tdPwned='title'\">",
        "filename": "<svg onload=window.tdPwned='file'>",
    }
    tag = uuid.uuid4().hex[:8]
    owner_email = f"owner-{tag}@hostile-usage.example"
    owner = new_page("1024x768")
    owner.add_init_script(f"({WATCH})()")
    sign_up_owner(owner, app_url, f"Hostile Usage {tag}", owner_email)
    org_id, user_id = _org_of(owner_email)
    _seed_hostile(org_id, user_id, markup)

    owner.goto(app_url + "/usage")
    unanswered = owner.get_by_role("list", name="Top unanswered questions")
    expect(unanswered).to_contain_text(markup["question"].lower())  # grouped by normalised text
    thumbs = owner.get_by_role("list", name="Answers marked thumbs down")
    expect(thumbs).to_contain_text(f"Torque of the hub {markup['question']}?")
    expect(thumbs).to_contain_text(f"Zeta9 {markup['title']} manual p. 3")
    failed = owner.get_by_role("list", name="Manuals that failed")
    expect(failed).to_contain_text(f"locked {markup['filename']}.pdf")
    # The markup is text: no element it names exists on the page, and nothing it carries ran.
    assert owner.locator(".td-main img, .td-main svg[onload], .td-main iframe").count() == 0
    _never_ran(owner)
