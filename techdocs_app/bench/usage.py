"""`bench usage --rows N`: the usage page's data load with N query-log rows in the organization.

Data: one organization with N query-log rows spread over `--days` days: 365 by default, a year
of history (the query log's default retention), where the indexes keep the page to its 30-day
window; `--days 30` puts every row inside the window (the worst case: every aggregate reads every
row). 5 people, 40 manuals (3 failed), a conversation message pair per
question (2N messages, 1% of the answers marked 👎); plus OTHER_ORGS organizations with N/10 rows
each, so that the organization filter matters. Outcomes: 70% answered, 10% closest passages, 18%
not in the manuals (drawn from 300 questions written in varying case and spacing, so grouping by
normalised text has work to do), 2% failed. Rows go in with COPY into the benchmark's own database
(`<db>_bench_usage` on the embedded Postgres), then VACUUM ANALYZE; the data is reused while N and
the day are unchanged (`--rebuild` forces it).

Measured in one process:
- the page's load exactly as the page runs it: `usage_view(usage.load_usage(principal))` (every
  aggregate in one organization-scoped transaction, as the application role under row-level
  security, then the shaping), `--runs` times after WARM_RUNS untimed runs: p50 and p95;
- the baseline: the same aggregates in the same kind of transaction with index scans turned off
  (`enable_indexscan`, `enable_indexonlyscan`, `enable_bitmapscan`): what the page would cost on
  sequential scans, without the indexes of migrations 0001 and 0005;
- each aggregate on its own (p50), to show where the time goes.

PASS when p95 ≤ BUDGET_MS. Last line:
`bench-usage: rows=N days=D runs=R p50_ms=… p95_ms=… baseline_p50_ms=… speedup=…x budget_ms=300 PASS|FAIL`
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from techdocs_app.bench.database import (
    remove_earlier_runs,
    reusable_org,
    use_bench_database,
)

BUDGET_MS = 300.0
WARM_RUNS = 3
OTHER_ORGS = 3
BENCH_ORG_PREFIX = "bench-usage"
PEOPLE = 5
MANUALS = 40
FAILED_MANUALS = 3
UNANSWERED_QUESTIONS = 300
THUMBS_DOWN_SHARE = 0.01
OUTCOMES = (("answer", 0.70), ("closest", 0.10), ("not_found", 0.18), ("error", 0.02))

_TOPICS = (
    "torque for the {} bolts",
    "fault code {} on the control board",
    "wiring diagram for the {} relay",
    "part number of the {} gasket",
    "clearance of the {} bearing",
    "reset procedure for the {} sensor",
)
_PARTS = (
    "caliper",
    "compressor",
    "blower",
    "igniter",
    "pump",
    "damper",
    "inverter",
    "valve",
    "flame",
    "drain",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="query-log rows in the org")
    parser.add_argument(
        "--days",
        type=int,
        default=365,
        help="days the rows are spread over (365: a year of history, the query log's retention; "
        "30: every row inside the page's window, the worst case)",
    )
    parser.add_argument("--runs", type=int, default=50, help="timed page loads")
    parser.add_argument("--baseline-runs", type=int, default=10, help="timed baseline loads")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the benchmark rows")
    parser.add_argument("--seed", type=int, default=12)


def _question(rng: random.Random) -> str:
    return rng.choice(_TOPICS).format(rng.choice(_PARTS)).capitalize() + "?"


def _unanswered_variant(rng: random.Random, base: str) -> str:
    """The same question as people type it: case, spacing, trailing punctuation."""
    text = base.upper() if rng.random() < 0.1 else base.lower() if rng.random() < 0.3 else base
    if rng.random() < 0.2:
        text = text.replace(" ", "  ", 1)
    return text.rstrip("?") + rng.choice(("?", "", "??", " ?"))


def _owner_of(org_id: int) -> tuple[int, str]:
    from sqlalchemy import text

    from techdocs_app.db.engine import get_owner_engine

    with get_owner_engine().connect() as conn:
        row = conn.execute(
            text(
                "SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id "
                "WHERE m.org_id = :org_id AND m.role = 'owner' ORDER BY m.id LIMIT 1"
            ),
            {"org_id": org_id},
        ).one()
    return int(row.id), str(row.email)


def _build(name: str, rows: int, *, days: int, own_database: bool, seed: int) -> int:
    """Insert the benchmark organizations with COPY; returns the measured organization's id."""
    from sqlalchemy import text

    from techdocs_app.db.engine import get_owner_engine

    engine = get_owner_engine()
    with engine.begin() as conn:
        remove_earlier_runs(
            conn, prefix=BENCH_ORG_PREFIX, own_database=own_database, with_users=True
        )
    plan = [(name, rows)] + [(f"{name}-other{i}", rows // 10) for i in range(1, OTHER_ORGS + 1)]
    main_org = 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for index, (org_name, count) in enumerate(plan):
            started = time.perf_counter()
            org_id = _seed_org(cur, org_name, count, random.Random(seed + index), days=days)
            raw.commit()
            main_org = main_org or org_id
            print(f"  {org_name}: {count} query-log rows in {time.perf_counter() - started:.1f}s")
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("query_logs", "messages", "conversations", "documents"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    return main_org


def _seed_org(cur: Any, org_name: str, count: int, rng: random.Random, *, days: int) -> int:
    now = datetime.now(UTC)
    window_s = days * 24 * 3600 - 3600
    cur.execute(
        "INSERT INTO organizations (name, plan, seat_limit, index_version) "
        "VALUES (%s, 'trial', 5, 0) RETURNING id",
        (org_name,),
    )
    org_id = int(cur.fetchone()[0])
    people: list[int] = []
    for i in range(PEOPLE):
        cur.execute(
            "INSERT INTO users (email, name) VALUES (%s, %s) RETURNING id",
            (f"p{i}-{org_id}@{BENCH_ORG_PREFIX}.invalid", f"Technician {i + 1}"),
        )
        user_id = int(cur.fetchone()[0])
        people.append(user_id)
        cur.execute(
            "INSERT INTO memberships (org_id, user_id, role) VALUES (%s, %s, %s)",
            (org_id, user_id, "owner" if i == 0 else "member"),
        )
    with cur.copy(
        "COPY documents (org_id, filename, title, sha256, size_bytes, pages, pages_done, "
        "chunk_count, ocr_pages, status, error_message, storage_key) FROM STDIN"
    ) as copy:
        for i in range(MANUALS):
            failed = i < FAILED_MANUALS
            pages = 0 if failed else rng.randint(20, 400)
            copy.write_row(
                (
                    org_id,
                    f"manual-{i:02d}.pdf",
                    f"Manual {i}",
                    f"{org_id:032d}{i:032d}",
                    rng.randint(200_000, 30_000_000),
                    pages,
                    pages,
                    pages * 3,
                    0,
                    "failed" if failed else "ready",
                    "This PDF is password-protected." if failed else None,
                    f"bench/{org_id}/{i}",
                )
            )
    conversations = max(1, count // 10)
    cur.execute(
        "INSERT INTO conversations (org_id, user_id, title, document_ids) "
        "SELECT %s, (ARRAY[%s, %s, %s, %s, %s])[1 + g %% 5], 'Bench', '[]'::jsonb "
        "FROM generate_series(1, %s) g RETURNING id",
        (org_id, *people, conversations),
    )
    conversation_ids = [int(r[0]) for r in cur.fetchall()]
    unanswered = [_question(rng) + f" (model {n})" for n in range(UNANSWERED_QUESTIONS)]
    outcomes = [o for o, _ in OUTCOMES]
    weights = [w for _, w in OUTCOMES]
    sources = (
        '[{"number": 1, "document_title": "Manual 7", "filename": "manual-07.pdf", '
        '"page_start": 41}, {"number": 2, "document_title": "Manual 9", '
        '"filename": "manual-09.pdf", "page_start": 3}]'
    )
    logs: list[tuple[Any, ...]] = []
    messages: list[tuple[Any, ...]] = []
    for i in range(count):
        outcome = rng.choices(outcomes, weights)[0]
        when = now - timedelta(seconds=rng.randrange(window_s))
        user_id = rng.choice(people)
        conversation_id = conversation_ids[i % len(conversation_ids)]
        if outcome == "not_found":
            question = _unanswered_variant(rng, rng.choice(unanswered))
        else:
            question = _question(rng)
        first = rng.lognormvariate(5.5, 0.5)
        total = first + rng.lognormvariate(6.8, 0.6)
        error = "ProviderTimeout:answer timed out" if outcome == "error" else None
        logs.append(
            (
                org_id,
                user_id,
                conversation_id,
                question,
                question,
                False,
                0 if outcome == "not_found" else 5,
                outcome == "not_found",
                error,
                f'{{"first_token": {first:.2f}, "total": {total:.2f}}}',
                "failed" if error else outcome,
                round(first, 2),
                round(total, 2),
                when,
            )
        )
        if error is None:
            answer = "Torque the bolts to 120 N·m [1]. Check the table [1, 2]."
            feedback = -1 if rng.random() < THUMBS_DOWN_SHARE else 0
            messages.append((org_id, conversation_id, "user", question, None, "[]", 0, when))
            messages.append(
                (org_id, conversation_id, "assistant", answer, question, sources, feedback, when)
            )
    with cur.copy(
        "COPY query_logs (org_id, user_id, conversation_id, question, standalone_query, "
        "cache_hit, n_sources, not_found, error, timings, outcome, first_token_ms, total_ms, "
        "created_at) FROM STDIN"
    ) as copy:
        for row in logs:
            copy.write_row(row)
    with cur.copy(
        "COPY messages (org_id, conversation_id, role, content, standalone_query, sources, "
        "feedback, not_found, offline_answer, created_at) FROM STDIN"
    ) as copy:
        for org, conv, role, content, standalone, srcs, feedback, when in messages:
            copy.write_row(
                (org, conv, role, content, standalone, srcs, feedback, False, False, when)
            )
    return org_id


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _timed(fn: Callable[[], Any], runs: int) -> list[float]:
    for _ in range(WARM_RUNS):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from techdocs_app import usage
    from techdocs_app.auth import Principal
    from techdocs_app.db import usage as usage_db
    from techdocs_app.db.engine import session_scope
    from techdocs_app.usage_view import usage_view

    rows = int(args.rows)
    url, own_database = use_bench_database("_bench_usage")
    print(f"database: {url.rsplit('@', 1)[-1]}")
    today = datetime.now(UTC).date()
    days = int(args.days)
    name = f"{BENCH_ORG_PREFIX}-{rows}-{days}d-{today.isoformat()}-s{args.seed}"
    org_id = None if args.rebuild else reusable_org(name, table="query_logs", rows=rows)
    if org_id is None:
        print(f"building {name}: {rows} rows + {OTHER_ORGS} other organizations")
        org_id = _build(name, rows, days=days, own_database=own_database, seed=int(args.seed))
    else:
        print(f"reusing {name} (org {org_id})")
    user_id, email = _owner_of(org_id)
    principal = Principal(user_id=user_id, org_id=org_id, role="owner", email=email, org_name=name)

    report = usage.load_usage(principal)
    print(
        f"figures: {report.month.total} questions this month, "
        f"{sum(d.answered + d.closest + d.not_found + d.failed for d in report.per_day)} in 30 days, "
        f"{len(report.per_technician)} people, {len(report.unanswered)} top unanswered "
        f"(first: {report.unanswered[0].count if report.unanswered else 0}x), "
        f"{len(report.thumbs_down)} 👎 shown, {report.library.manuals} manuals, "
        f"answer p50/p95 {report.speed.total_p50_ms}/{report.speed.total_p95_ms} ms"
    )

    page = _timed(lambda: usage_view(usage.load_usage(principal)), int(args.runs))

    period = usage.UsagePeriod.ending(today)

    def baseline() -> None:
        with session_scope(org_id=org_id) as session:
            session.connection().execute(
                text(
                    "SELECT set_config('enable_indexscan', 'off', true), "
                    "set_config('enable_indexonlyscan', 'off', true), "
                    "set_config('enable_bitmapscan', 'off', true)"
                )
            )
            usage_view(usage.collect(session, org_id=org_id, period=period))

    base = _timed(baseline, int(args.baseline_runs))

    parts: dict[str, Callable[[Any], Any]] = {
        "questions_per_day_and_person": lambda s: usage_db.questions_per_day_and_person(
            s, org_id=org_id, since=period.counted_since
        ),
        "top_unanswered": lambda s: usage_db.top_unanswered(
            s, org_id=org_id, since=period.days_since
        ),
        "thumbs_down": lambda s: usage_db.thumbs_down(s, org_id=org_id),
        "library_figures": lambda s: usage_db.library_figures(s, org_id=org_id),
        "failed_manuals": lambda s: usage_db.failed_manuals(s, org_id=org_id),
        "answer_speed": lambda s: usage_db.answer_speed(s, org_id=org_id, since=period.days_since),
    }
    print("each aggregate (p50 of 10, ms):")
    with session_scope(org_id=org_id) as session:
        for label, fn in parts.items():
            times = _timed(functools.partial(fn, session), 10)
            print(f"  {label:<26} {statistics.median(times):7.1f}")

    p50, p95 = statistics.median(page), _percentile(page, 0.95)
    base_p50 = statistics.median(base)
    print(f"page load: {len(page)} runs, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(
        f"baseline (index scans off): {len(base)} runs, p50 {base_p50:.1f} ms, "
        f"p95 {_percentile(base, 0.95):.1f} ms"
    )
    verdict = "PASS" if p95 <= BUDGET_MS else "FAIL"
    print(
        f"bench-usage: rows={rows} days={days} runs={len(page)} p50_ms={p50:.1f} p95_ms={p95:.1f} "
        f"baseline_p50_ms={base_p50:.1f} speedup={base_p50 / p50:.1f}x "
        f"budget_ms={BUDGET_MS:.0f} {verdict}"
    )
    return 0 if verdict == "PASS" else 1
