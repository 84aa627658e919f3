"""The benchmarks' shared database helpers against the real Postgres: with DATABASE_URL set (the
test harness's database) a benchmark runs in it, and an earlier run's organization is reused
only while it holds exactly the rows the run asks for."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from techdocs_app.bench.database import remove_earlier_runs, reusable_org, use_bench_database
from techdocs_app.db import query_logs
from techdocs_app.db.engine import get_owner_engine, session_scope
from techdocs_app.settings import get_settings


def test_with_a_database_url_the_benchmark_runs_there_only_when_told_to(
    db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from techdocs_app.errors import ValidationFailed

    url = get_settings().database_url
    assert url
    monkeypatch.delenv("BENCH_EXTERNAL_DB", raising=False)
    with pytest.raises(ValidationFailed, match="BENCH_EXTERNAL_DB=1"):
        use_bench_database("_bench_usage")
    monkeypatch.setenv("BENCH_EXTERNAL_DB", "1")
    assert use_bench_database("_bench_usage") == (url, False)


def _log_question(org_id: int, user_id: int, question: str) -> None:
    with session_scope(org_id=org_id) as session:
        query_logs.add_query_log(
            session, org_id=org_id, user_id=user_id, conversation_id=None, question=question
        )


def test_an_organization_is_reused_only_with_the_rows_asked_for(make_org) -> None:  # noqa: ANN001
    owner = make_org("bench-usage-2-30d")
    assert reusable_org("bench-usage-2-30d", table="query_logs", rows=0) == owner.org_id
    _log_question(owner.org_id, owner.user_id, "Torque of the caliper bolts?")
    assert reusable_org("bench-usage-2-30d", table="query_logs", rows=2) is None
    other = make_org("Other shop")
    _log_question(other.org_id, other.user_id, "Fault code E4?")
    assert reusable_org("bench-usage-2-30d", table="query_logs", rows=2) is None  # not theirs
    _log_question(owner.org_id, owner.user_id, "Fault code E4?")
    assert reusable_org("bench-usage-2-30d", table="query_logs", rows=2) == owner.org_id
    assert reusable_org("bench-usage-2-30d", table="chunks", rows=2) is None
    assert reusable_org("no such organization", table="query_logs", rows=0) is None


def _names() -> tuple[list[str], list[str]]:
    with get_owner_engine().connect() as conn:
        orgs = conn.execute(text("SELECT name FROM organizations ORDER BY name")).scalars()
        org_names = list(orgs)
        emails = list(conn.execute(text("SELECT email FROM users ORDER BY email")).scalars())
    return org_names, emails


def test_a_rebuild_in_an_external_database_removes_only_the_benchmarks_rows(
    make_org,  # noqa: ANN001
) -> None:
    make_org("bench-usage-10-30d", email="p0-1@bench-usage.invalid")
    make_org("bench-usage-10-30d-other1", email="owner@other.example")
    make_org("Real shop", email="owner@realshop.example")
    with get_owner_engine().begin() as conn:
        remove_earlier_runs(conn, prefix="bench-usage", own_database=False, with_users=True)
    assert _names() == (["Real shop"], ["owner@other.example", "owner@realshop.example"])


def test_a_rebuild_in_its_own_database_empties_it(make_org) -> None:  # noqa: ANN001
    make_org("bench-retrieval-100-abc")
    with get_owner_engine().begin() as conn:
        remove_earlier_runs(conn, prefix="bench-retrieval", own_database=True)
    assert _names()[0] == [] and _names()[1] != []
    make_org("bench-usage-10-30d")
    with get_owner_engine().begin() as conn:
        remove_earlier_runs(conn, prefix="bench-usage", own_database=True, with_users=True)
    assert _names() == ([], [])


def test_bench_ingest_stores_what_it_times(
    db: dict[str, str],
    corpus_dir,
    tmp_path,
    capsys: pytest.CaptureFixture[str],  # noqa: ANN001
) -> None:
    """`bench ingest` runs the real pipeline on a scratch organization; its store phase is
    scoped to that organization (unscoped, row-level security hid every document and the run
    timed an embed+store that stored nothing), and a run that stores nothing reports an error
    instead of figures."""
    import shutil

    from techdocs_app.__main__ import main

    shutil.copy(corpus_dir / "trikdis_rt2.pdf", tmp_path / "trikdis_rt2.pdf")
    assert main(["bench", "ingest", "--corpus", str(tmp_path), "--no-baseline"]) == 0
    out = capsys.readouterr().out
    assert "ready" in out and "deleted" not in out
    assert "-> 0 chunks" not in out and "bench-ingest: pages=6" in out
