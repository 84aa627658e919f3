"""Small holes (issue 10 §2 page images, §6 sessions, §7): the page-image route's input, bounded
lists, pagination, logs without personal data or bound parameters, query-log retention."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

import pymupdf
import pytest
from starlette.testclient import TestClient

from tests.integration.test_answer_flow import collect, ingest
from tests.integration.test_answer_outcomes import claude  # noqa: F401 - the Anthropic wire fake

pytestmark = pytest.mark.integration


def _client_for(principal: Any) -> TestClient:
    from techdocs_app.api import api
    from techdocs_app.auth.sessions import issue_session

    client = TestClient(api)
    client.cookies.set("techdocs_session", issue_session(principal))
    return client


# --- the page-image route -----------------------------------------------------------------------


def test_page_image_route_refuses_odd_ids_with_4xx(make_org, corpus_dir) -> None:  # noqa: ANN001
    owner = make_org("Shop")
    document_id = ingest(owner, corpus_dir, "trikdis_rt2.pdf")
    client = _client_for(owner)
    assert client.get(f"/api/pages/{document_id}/1.png").status_code == 200
    for chunk in ("²", "١٢", "12a", "-3", "0", "99999999999999999999999"):
        response = client.get(f"/api/pages/{document_id}/1.png", params={"chunk": chunk})
        assert response.status_code == 400, (chunk, response.status_code)
        assert response.json() == {"error": "The chunk must be a number, like ?chunk=123."}
    assert client.get("/api/pages/99999999999999999999999/1.png").status_code == 404
    assert client.get(f"/api/pages/{document_id}/0.png").status_code == 404
    assert client.get(f"/api/pages/{document_id}/999999999.png").status_code == 404
    assert client.get(f"/api/pages/{document_id}/1.png", params={"chunk": "1"}).status_code == 200


def _huge_page_pdf() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=14_400, height=14_400)  # the largest page PDF allows: 200 inches
    page.insert_text((100, 200), "Zeta-9 wiring diagram", fontsize=96)
    data = doc.tobytes()
    doc.close()
    return data


def test_a_huge_page_renders_within_the_pixel_cap_and_repeats_come_from_the_cache(
    make_org, tmp_path
) -> None:  # noqa: ANN001
    from techdocs_app import library, page_images
    from techdocs_app.settings import get_settings

    owner = make_org("Shop")
    pdf = tmp_path / "huge.pdf"
    pdf.write_bytes(_huge_page_pdf())
    document = library.upload_document(owner, filename="huge.pdf", data=pdf).document
    cache = page_images.page_image_cache()
    before = len(cache)
    png = library.render_page_png(owner, document_id=document.id, page=1, zoom=1.6)
    pix = pymupdf.Pixmap(png)
    assert pix.width * pix.height <= get_settings().max_page_pixels
    assert max(pix.width, pix.height) <= page_images.MAX_SIDE
    assert len(cache) == before + 1
    again = library.render_page_png(owner, document_id=document.id, page=1, zoom=1.6)
    assert again == png and len(cache) == before + 1
    # Another highlight is another image; another organization never sees this one.
    library.render_page_png(
        owner,
        document_id=document.id,
        page=1,
        zoom=1.6,
        highlight=[{"page": 1, "x0": 100, "y0": 100, "x1": 900, "y1": 300}],
    )
    assert len(cache) == before + 2
    from techdocs_app.errors import NotFound

    with pytest.raises(NotFound):
        library.render_page_png(make_org("Other"), document_id=document.id, page=1)


def test_page_image_cache_is_bounded_in_bytes() -> None:
    from techdocs_app.page_images import PageImageCache, capped_zoom

    cache = PageImageCache(max_bytes=1000)
    for i in range(10):
        cache.put(("k", i), b"x" * 300)
    assert cache.size_bytes <= 1000 and len(cache) == 3
    assert cache.get(("k", 0)) is None and cache.get(("k", 9)) == b"x" * 300
    cache.put(("big",), b"x" * 5000)  # larger than the whole cache: not kept
    assert cache.get(("big",)) is None
    # A letter page keeps its zoom; a 200-inch page is drawn smaller.
    assert capped_zoom(612, 792, 1.6, max_pixels=8_000_000) == 1.6
    assert capped_zoom(14_400, 14_400, 1.6, max_pixels=8_000_000) < 0.2


def _pages_pdf(pages: int) -> bytes:
    doc = pymupdf.open()
    for n in range(pages):
        doc.new_page(width=612, height=792).insert_text((72, 90), f"Zeta-9 page {n + 1}")
    data = doc.tobytes()
    doc.close()
    return data


def test_page_images_waiting_to_render_do_not_hold_the_threads_of_database_calls(
    make_org, tmp_path
) -> None:  # noqa: ANN001
    """Page images render two at a time per process. Requests waiting for a turn must not sit
    on the default executor's threads, which serve every database call (`asyncio.to_thread`):
    while both render slots are busy, more page requests than that executor has threads arrive,
    and a library listing still completes; then every page is served."""
    import asyncio
    import os

    import httpx

    from techdocs_app import library, page_images
    from techdocs_app.api import api
    from techdocs_app.auth.sessions import issue_session

    owner = make_org("Shop")
    waiting = (os.cpu_count() or 1) + 4 + 4  # more than asyncio's default executor threads
    pdf = tmp_path / "pages.pdf"
    pdf.write_bytes(_pages_pdf(waiting))
    document = library.upload_document(owner, filename="pages.pdf", data=pdf).document
    cookies = {"techdocs_session": issue_session(owner)}
    slots = page_images._render_slots

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as client:
            for _ in range(page_images.RENDER_SLOTS):  # both slots busy (a long render each)
                assert slots.acquire(timeout=5)
            held = page_images.RENDER_SLOTS
            try:
                pages = [
                    asyncio.create_task(client.get(f"/api/pages/{document.id}/{n + 1}.png"))
                    for n in range(waiting)
                ]
                await asyncio.sleep(0.5)  # every request is in, waiting for a render slot
                listed = await asyncio.wait_for(
                    asyncio.to_thread(library.list_documents, owner), timeout=20
                )
                assert [d.id for d in listed] == [document.id]
                assert not any(t.done() for t in pages)
            finally:
                for _ in range(held):
                    slots.release()
            return [r.status_code for r in await asyncio.gather(*pages)]

    assert asyncio.run(scenario()) == [200] * waiting


def test_uploads_being_checked_do_not_hold_the_threads_of_database_calls(make_org) -> None:  # noqa: ANN001
    """Opening and checking an uploaded PDF can take seconds for a crafted file. Uploads run on
    threads of their own (`work_pools.UPLOADS`, two per process), never on the default executor
    that serves every database call: with both upload threads busy, more REST uploads than that
    executor has threads arrive (one shop each), none completes, and a library listing still
    does; then every upload is accepted."""
    import asyncio
    import os
    import threading

    import httpx

    from techdocs_app import library, work_pools
    from techdocs_app.api import api
    from techdocs_app.api_keys import create_api_key

    waiting = (os.cpu_count() or 1) + 4 + 2  # more than asyncio's default executor threads
    shops = [make_org(f"Upload Shop {n}") for n in range(waiting)]
    keys = [create_api_key(shop, name="Shop system", role="admin").secret for shop in shops]
    pdf = _pages_pdf(1)
    release = threading.Event()

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            # Both upload threads busy (a slow, crafted PDF each).
            busy = [
                asyncio.create_task(work_pools.UPLOADS.run(release.wait, 30))
                for _ in range(work_pools.UPLOADS.threads)
            ]
            try:
                uploads = [
                    asyncio.create_task(
                        client.post(
                            "/api/v1/documents",
                            headers={"Authorization": f"Bearer {key}"},
                            files={"file": (f"manual-{n}.pdf", pdf, "application/pdf")},
                        )
                    )
                    for n, key in enumerate(keys)
                ]
                await asyncio.sleep(1.0)  # every upload is in, waiting for an upload thread
                assert not any(t.done() for t in uploads)
                listed = await asyncio.wait_for(
                    asyncio.to_thread(library.list_documents, shops[0]), timeout=20
                )
                assert listed == []
                assert not any(t.done() for t in uploads)
            finally:
                release.set()
            await asyncio.gather(*busy)
            return [r.status_code for r in await asyncio.gather(*uploads)]

    assert asyncio.run(scenario()) == [202] * waiting
    for shop in shops:
        assert [d.filename for d in library.list_documents(shop)] == [
            f"manual-{shops.index(shop)}.pdf"
        ]


# --- sessions -----------------------------------------------------------------------------------


def test_session_tokens_are_stored_as_an_hmac_keyed_by_the_session_secret(
    make_org, monkeypatch
) -> None:  # noqa: ANN001
    from sqlmodel import select

    from techdocs_app.auth import sessions
    from techdocs_app.db.engine import system_session_scope
    from techdocs_app.db.models import AuthSession
    from techdocs_app.settings import get_settings

    owner = make_org("Shop")
    token = sessions.issue_session(owner)
    with system_session_scope() as session:
        stored = session.exec(select(AuthSession.token_hash)).all()
    assert hashlib.sha256(token.encode()).hexdigest() not in stored  # not a bare hash
    assert sessions.principal_from_session(token) is not None
    monkeypatch.setenv("SESSION_SECRET", secrets.token_urlsafe(40))
    get_settings.cache_clear()
    try:
        assert sessions.principal_from_session(token) is None  # another secret: no session
    finally:
        monkeypatch.delenv("SESSION_SECRET")
        get_settings.cache_clear()
    assert sessions.principal_from_session(token) is not None


# --- bounded lists and pagination ---------------------------------------------------------------


def test_toggle_scope_keeps_only_listed_manuals_and_at_most_the_cap() -> None:
    from techdocs_app.state.chat import MAX_SCOPE, scope_after_toggle

    available = list(range(1, 500))
    scope: list[int] = []
    for document_id in range(1, 10_000):
        scope = scope_after_toggle(scope, document_id, True, available=available)
    assert len(scope) == MAX_SCOPE and set(scope) <= set(available)
    assert scope_after_toggle([1, 2], 2, False, available=available) == [1]
    assert scope_after_toggle([1], 10**12, True, available=available) == [1]


def _documents(org_id: int, n: int) -> list[int]:
    from techdocs_app.db.engine import session_scope
    from techdocs_app.db.models import Document

    ids = []
    with session_scope(org_id=org_id) as session:
        for i in range(n):
            doc = Document(
                org_id=org_id,
                filename=f"manual-{i:02d}.pdf",
                sha256=f"{i:064x}",
                size_bytes=1000,
                storage_key=f"orgs/{org_id}/documents/{i:064x}.pdf",
            )
            session.add(doc)
            session.flush()
            ids.append(doc.id)
    return ids


def test_documents_are_listed_in_pages_and_counted(make_org) -> None:  # noqa: ANN001
    from techdocs_app import library

    owner = make_org("Shop")
    _documents(owner.org_id, 7)
    first = library.list_documents(owner, limit=3)
    second = library.list_documents(owner, limit=3, offset=3)
    rest = library.list_documents(owner, limit=3, offset=6)
    names = [d.filename for d in first + second + rest]
    assert len(first) == len(second) == 3 and len(rest) == 1
    assert len(set(names)) == 7
    assert [d.filename for d in library.list_documents(owner)] == names
    assert library.count_documents(owner) == 7
    assert library.count_documents(owner, name_filter="manual-0") == 7
    assert library.count_documents(owner, name_filter="manual-05") == 1
    with pytest.raises(Exception):  # noqa: B017 - a ValidationFailed for nonsense paging
        library.list_documents(owner, limit=0)


def test_messages_come_newest_page_first_in_reading_order(make_org) -> None:  # noqa: ANN001
    from techdocs_app import conversations
    from techdocs_app.db import conversations as conversations_db
    from techdocs_app.db.engine import session_scope

    owner = make_org("Shop")
    with session_scope(org_id=owner.org_id) as session:
        conversation = conversations_db.create_conversation(
            session, org_id=owner.org_id, user_id=owner.user_id, title="t"
        )
        for i in range(10):
            conversations_db.add_message(
                session,
                org_id=owner.org_id,
                conversation_id=conversation.id,
                role="user" if i % 2 == 0 else "assistant",
                content=f"m{i}",
            )
    latest = conversations.get_messages(owner, conversation_id=conversation.id, limit=4)
    assert [m.content for m in latest] == ["m6", "m7", "m8", "m9"]
    older = conversations.get_messages(
        owner, conversation_id=conversation.id, limit=4, before_id=latest[0].id
    )
    assert [m.content for m in older] == ["m2", "m3", "m4", "m5"]
    every = conversations.get_messages(owner, conversation_id=conversation.id)
    assert [m.content for m in every] == [f"m{i}" for i in range(10)]


# --- logs ---------------------------------------------------------------------------------------


def test_sql_errors_do_not_carry_their_bound_parameters(db) -> None:  # noqa: ANN001
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from techdocs_app.db.engine import system_session_scope

    secret = "what torque for the caliper of jane.doe@bayauto.example"
    with pytest.raises(DBAPIError) as failed, system_session_scope() as session:
        session.execute(text("INSERT INTO no_such_table VALUES (:q)"), {"q": secret})
    message = str(failed.value)
    assert "no_such_table" in message and "parameters hidden" in message
    assert "jane.doe" not in message and "caliper" not in message


async def test_logs_carry_ids_not_emails_questions_passwords_or_tokens(
    make_org, corpus_dir, caplog
) -> None:  # noqa: ANN001
    from techdocs_app import throttles
    from techdocs_app.auth import local
    from techdocs_app.auth.sessions import issue_session
    from techdocs_app.errors import AuthError, RateLimited

    caplog.set_level(logging.DEBUG)
    email, password = "jane.doe@bayauto.example", "correct horse battery 42"
    owner = make_org("Bay Auto", email=email, password=password)
    token = issue_session(owner)
    for attempt in range(7):
        with pytest.raises((AuthError, RateLimited)):
            await throttles.guarded_sign_in(
                email=email, password=f"wrong password {attempt}", address="198.51.100.4"
            )
    await throttles.guarded_sign_in(email=email, password=password, address="203.0.113.4")
    ingest(owner, corpus_dir, "trikdis_rt2.pdf")
    question = "What supply voltage range does the RT2 module accept?"
    events = await collect(owner, question)
    assert events
    await collect(owner, "x" * 50_000)  # rejected: too long, logged as such
    with pytest.raises(local.ValidationFailed):
        local.sign_up(org_name="Bay Auto", email=email, password=password)

    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records).lower()
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for secret in (email, "jane.doe", password, "wrong password", token, question.lower()):
        assert secret.lower() not in logged, secret


async def test_a_dropped_citation_is_logged_by_number_without_the_text(
    claude,  # noqa: F811 - the fixture imported above
    make_org,
    corpus_dir,
    caplog,
) -> None:  # noqa: ANN001
    """Issue 10 §4: a citation whose passage does not back its sentence (or that points past the
    sources) is dropped and logged: the numbers, never the answer's or the question's words."""
    from tests.integration.test_answer_outcomes import QUESTION, _excerpts, _first_sentence

    caplog.set_level(logging.WARNING, logger="techdocs_app.rag.answer")
    shop = make_org("Injected")
    ingest(shop, corpus_dir)
    forged = "The module also supports 400G ZR+ coherent mode over 120 km"

    def injected(body: dict[str, Any]) -> str:
        true = _first_sentence(_excerpts(body)[1])
        return f"{true} [1] {forged} [2]. Call the hotline for a warranty check [9]."

    claude.state.message_text = injected
    done = (await collect(shop, QUESTION))[-1]
    assert done.citations == [1] and forged not in done.answer
    dropped = [r.getMessage() for r in caplog.records if "dropped citations" in r.getMessage()]
    assert any("missing sources: [9]" in m for m in dropped), dropped
    assert any("does not support the sentence" in m and "2" in m for m in dropped), dropped
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "400G" not in logged and "hotline" not in logged and QUESTION not in logged


# --- query-log retention ------------------------------------------------------------------------


def test_query_logs_older_than_the_retention_are_purged(make_org, monkeypatch, capsys) -> None:  # noqa: ANN001
    from sqlalchemy import update
    from sqlmodel import select

    from techdocs_app import retention
    from techdocs_app.__main__ import main
    from techdocs_app.db import query_logs as logs_db
    from techdocs_app.db.engine import session_scope, system_session_scope
    from techdocs_app.db.models import QueryLog, utcnow
    from techdocs_app.settings import get_settings

    assert get_settings().query_log_retention_days == 365
    shops = [make_org("Shop A"), make_org("Shop B")]
    for shop in shops:
        with session_scope(org_id=shop.org_id) as session:
            for age_days in (0, 30, 364, 366, 800):
                row = logs_db.add_query_log(
                    session,
                    org_id=shop.org_id,
                    user_id=shop.user_id,
                    conversation_id=None,
                    question=f"asked {age_days} days ago",
                )
                session.exec(
                    update(QueryLog)
                    .where(QueryLog.id == row.id)  # type: ignore[arg-type]
                    .values(created_at=utcnow() - timedelta(days=age_days))
                )
    assert retention.purge_query_logs(dry_run=True) == 4
    assert retention.purge_query_logs() == 4
    with system_session_scope() as session:
        left = sorted(session.exec(select(QueryLog.question)).all())
    assert left == sorted(f"asked {d} days ago" for d in (0, 30, 364) for _ in shops)
    # The command line, with a shorter retention.
    assert main(["retention", "purge", "--days", "31"]) == 0
    assert "purged 2 query log rows older than 31 days" in capsys.readouterr().out
    monkeypatch.setenv("QUERY_LOG_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    try:
        assert retention.purge_query_logs() == 0  # 0 keeps everything
    finally:
        monkeypatch.delenv("QUERY_LOG_RETENTION_DAYS")
        get_settings.cache_clear()


def test_the_workers_purge_query_logs_daily(make_org, redis_client) -> None:  # noqa: ANN001
    from sqlalchemy import update
    from sqlmodel import select

    from techdocs_app import maintenance
    from techdocs_app.db import query_logs as logs_db
    from techdocs_app.db.engine import session_scope, system_session_scope
    from techdocs_app.db.models import QueryLog, utcnow

    task = next(t for t in maintenance.TASKS if t.name == "purge-query-logs")
    assert task.every_s == 24 * 3600
    shop = make_org("Shop")
    with session_scope(org_id=shop.org_id) as session:
        old = logs_db.add_query_log(
            session, org_id=shop.org_id, user_id=None, conversation_id=None, question="old"
        )
        logs_db.add_query_log(
            session, org_id=shop.org_id, user_id=None, conversation_id=None, question="new"
        )
        session.exec(
            update(QueryLog)
            .where(QueryLog.id == old.id)  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(days=400))
        )
    assert maintenance.run_due(redis_client, tasks=[task]) == ["purge-query-logs"]
    assert maintenance.run_due(redis_client, tasks=[task]) == []  # once per day, fleet-wide
    with system_session_scope() as session:
        assert session.exec(select(QueryLog.question)).all() == ["new"]
