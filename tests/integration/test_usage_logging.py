"""The answer pipeline records what the usage page reads: each question's outcome, time to first
token and to the whole answer, in the query log (real ingest, Postgres, Redis, local providers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymupdf
import pytest

from techdocs_app import usage
from techdocs_app.db import query_logs as logs_db
from techdocs_app.db.engine import system_session_scope

pytestmark = pytest.mark.integration

MANUAL_LINES = [
    "Brake service manual, model BX-200",
    "Caliper mounting",
    "Tighten the caliper mounting bolts to a torque of 120 N·m.",
    "Tighten the wheel nuts to a torque of 140 N·m in a star pattern.",
    "Fault code E04 means the brake pad wear sensor circuit is open.",
]


def _manual(path: Path) -> Path:
    doc = pymupdf.open()
    page = doc.new_page()
    y = 72
    for line in MANUAL_LINES:
        page.insert_text((72, y), line, fontsize=14 if y == 72 else 11)
        y += 28
    doc.save(path)
    return path


async def _ask(principal: Any, question: str) -> Any:
    from techdocs_app.rag.answer import ask

    return [event async for event in ask(principal, question=question)][-1]


def _logs(org_id: int) -> list[Any]:
    with system_session_scope() as session:
        return list(reversed(logs_db.list_query_logs(session, org_id=org_id)))


async def test_each_question_logs_its_outcome_and_speed(make_org, tmp_path: Path) -> None:  # noqa: ANN001
    from techdocs_app.rag.answer import Done, Failed
    from techdocs_app.rag.ingest import ingest_path

    shop = make_org("Logging Shop")
    document = ingest_path(
        org_id=shop.org_id, path=_manual(tmp_path / "brakes.pdf"), uploaded_by=shop.user_id
    )
    assert document.status == "ready"

    found = await _ask(shop, "What torque for the caliper mounting bolts?")
    missing = await _ask(shop, "How do I pair the Bluetooth remote with the soundbar?")
    rejected = await _ask(shop, "?")
    assert isinstance(found, Done) and found.outcome in ("answer", "closest")
    assert isinstance(missing, Done) and missing.outcome == "not_found"
    assert isinstance(rejected, Failed)

    logs = _logs(shop.org_id)
    assert [log.outcome for log in logs] == [found.outcome, "not_found", "failed"]
    for log, done in zip(logs[:2], (found, missing), strict=True):
        assert log.first_token_ms == round(done.timings["first_token"], 2)
        assert log.total_ms == round(done.timings["total"], 2)
        assert 0 < log.first_token_ms <= log.total_ms
    assert logs[1].question_key == "how do i pair the bluetooth remote with the soundbar"

    report = usage.load_usage(shop)
    assert report.month.total == 3 and report.month.failed == 1 and report.month.not_found == 1
    assert report.speed.answers == 2
    assert [(q.question, q.count) for q in report.unanswered] == [
        ("how do i pair the bluetooth remote with the soundbar", 1)
    ]
    assert report.library.manuals == 1 and report.library.pages == 1
