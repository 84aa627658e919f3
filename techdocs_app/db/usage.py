"""The usage page's figures: each one SQL aggregate over one organization's rows (keyword-only,
`org_id`; run them in `session_scope(org_id=...)`, where row-level security backs the filter).

Indexes (migration 0005_usage): `ix_query_logs_org_created` (org, date, including the user,
outcome and timings) serves the query-log ranges with index-only scans,
`ix_query_logs_org_not_found` (including `question_key`) the unanswered questions,
`ix_messages_org_thumbs_down` the 👎 answers; documents are read through `ix_documents_org_id`.

Outcomes: a query log row is `answer`, `closest` (cited passages labelled as not exact),
`not_found` ("not in your manuals") or `failed` (an error: no answer was given).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlmodel import Session

UNANSWERED_LIMIT = 10
THUMBS_DOWN_LIMIT = 20
FAILED_MANUALS_LIMIT = 20


@dataclass(frozen=True)
class QuestionTotals:
    total: int
    answered: int
    closest: int
    not_found: int
    failed: int


@dataclass(frozen=True)
class DayCount:
    day: date
    answered: int
    closest: int
    not_found: int
    failed: int


@dataclass(frozen=True)
class TechnicianCount:
    user_id: int | None
    name: str
    questions: int


@dataclass(frozen=True)
class DayPersonCount:
    day: date
    user_id: int | None
    name: str
    answered: int
    closest: int
    not_found: int
    failed: int

    @property
    def total(self) -> int:
        return self.answered + self.closest + self.not_found + self.failed


@dataclass(frozen=True)
class UnansweredQuestion:
    question: str
    count: int
    last_asked: datetime


@dataclass(frozen=True)
class ThumbsDown:
    message_id: int
    conversation_id: int
    question: str
    answer: str
    manuals: str
    """The manuals (and pages) the answer cited, comma separated; '' when it cited none."""
    created_at: datetime


@dataclass(frozen=True)
class LibraryFigures:
    manuals: int
    ready: int
    processing: int
    failed: int
    pages: int
    passages: int
    storage_bytes: int


@dataclass(frozen=True)
class FailedManual:
    document_id: int
    filename: str
    error: str


@dataclass(frozen=True)
class AnswerSpeed:
    answers: int
    first_token_p50_ms: float | None
    first_token_p95_ms: float | None
    total_p50_ms: float | None
    total_p95_ms: float | None


_TOTALS = text(
    """
    SELECT count(*) AS total,
           count(*) FILTER (WHERE outcome = 'answer') AS answered,
           count(*) FILTER (WHERE outcome = 'closest') AS closest,
           count(*) FILTER (WHERE outcome = 'not_found') AS not_found,
           count(*) FILTER (WHERE outcome = 'failed') AS failed
    FROM query_logs
    WHERE org_id = :org_id AND created_at >= :since
    """
)

_PER_DAY = text(
    """
    SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE outcome = 'answer') AS answered,
           count(*) FILTER (WHERE outcome = 'closest') AS closest,
           count(*) FILTER (WHERE outcome = 'not_found') AS not_found,
           count(*) FILTER (WHERE outcome = 'failed') AS failed
    FROM query_logs
    WHERE org_id = :org_id AND created_at >= :since
    GROUP BY day
    ORDER BY day
    """
)

_PER_DAY_AND_PERSON = text(
    """
    SELECT c.day, c.user_id, coalesce(nullif(u.name, ''), u.email) AS name,
           c.answered, c.closest, c.not_found, c.failed
    FROM (
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, user_id,
               count(*) FILTER (WHERE outcome = 'answer') AS answered,
               count(*) FILTER (WHERE outcome = 'closest') AS closest,
               count(*) FILTER (WHERE outcome = 'not_found') AS not_found,
               count(*) FILTER (WHERE outcome = 'failed') AS failed
        FROM query_logs
        WHERE org_id = :org_id AND created_at >= :since
        GROUP BY day, user_id
    ) c
    LEFT JOIN users u ON u.id = c.user_id
    ORDER BY c.day, c.user_id
    """
)

_UNANSWERED = text(
    """
    SELECT question_key AS question, count(*) AS n, max(created_at) AS last_asked
    FROM query_logs
    WHERE org_id = :org_id AND outcome = 'not_found' AND created_at >= :since
    GROUP BY question_key
    ORDER BY n DESC, last_asked DESC
    LIMIT :limit
    """
)

_THUMBS_DOWN = text(
    r"""
    SELECT m.id, m.conversation_id, m.content, m.created_at,
           coalesce(q.content, m.standalone_query, '') AS question,
           coalesce(c.manuals, '') AS manuals
    FROM messages m
    LEFT JOIN LATERAL (
        SELECT u.content
        FROM messages u
        WHERE u.org_id = m.org_id AND u.conversation_id = m.conversation_id
          AND u.role = 'user' AND u.id < m.id
        ORDER BY u.id DESC
        LIMIT 1
    ) q ON true
    LEFT JOIN LATERAL (
        SELECT string_agg(DISTINCT
                   coalesce(nullif(s->>'document_title', ''), s->>'filename')
                   || ' p. ' || (s->>'page_start'), ', ') AS manuals
        FROM jsonb_array_elements(m.sources) AS s
        WHERE m.content ~ ('\[(\d{1,3}\s*[,;]\s*)*' || (s->>'number') || '(\s*[,;]\s*\d{1,3})*\]')
    ) c ON true
    WHERE m.org_id = :org_id AND m.feedback < 0 AND m.role = 'assistant'
    ORDER BY m.id DESC
    LIMIT :limit
    """
)

_LIBRARY = text(
    """
    SELECT count(*) AS manuals,
           count(*) FILTER (WHERE status = 'ready') AS ready,
           count(*) FILTER (WHERE status IN ('pending', 'processing')) AS processing,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           coalesce(sum(pages) FILTER (WHERE status = 'ready'), 0) AS pages,
           coalesce(sum(chunk_count) FILTER (WHERE status = 'ready'), 0) AS passages,
           coalesce(sum(size_bytes), 0) AS storage_bytes
    FROM documents
    WHERE org_id = :org_id
    """
)

_FAILED_MANUALS = text(
    """
    SELECT id, filename, coalesce(error_message, '') AS error
    FROM documents
    WHERE org_id = :org_id AND status = 'failed'
    ORDER BY updated_at DESC, id DESC
    LIMIT :limit
    """
)

_SPEED = text(
    """
    SELECT count(total_ms) AS answers,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY first_token_ms) AS ft50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY first_token_ms) AS ft95,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms) AS t50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms) AS t95
    FROM query_logs
    WHERE org_id = :org_id AND created_at >= :since
      AND outcome IN ('answer', 'closest', 'not_found')
    """
)


def _outcome_counts(row: Row[Any]) -> dict[str, int]:
    """A row's questions by outcome (its `answered`, `closest`, `not_found`, `failed` columns)."""
    return {
        name: int(getattr(row, name)) for name in ("answered", "closest", "not_found", "failed")
    }


def question_totals(session: Session, *, org_id: int, since: datetime) -> QuestionTotals:
    """Questions asked since `since`, by outcome."""
    row = session.connection().execute(_TOTALS, {"org_id": org_id, "since": since}).one()
    return QuestionTotals(total=int(row.total), **_outcome_counts(row))


def questions_per_day(session: Session, *, org_id: int, since: datetime) -> list[DayCount]:
    """Questions per UTC day since `since`, by outcome (days without questions are absent)."""
    rows = session.connection().execute(_PER_DAY, {"org_id": org_id, "since": since})
    return [
        DayCount(
            day=r.day,
            **_outcome_counts(r),
        )
        for r in rows
    ]


def questions_per_day_and_person(
    session: Session, *, org_id: int, since: datetime
) -> list[DayPersonCount]:
    """Questions per UTC day and person since `since`, by outcome: one scan of the range gives
    both the per-day chart and the per-technician chart (`usage.collect` sums it each way). A
    person no longer in the organization (or a question with no user) has the name ''."""
    rows = session.connection().execute(_PER_DAY_AND_PERSON, {"org_id": org_id, "since": since})
    return [
        DayPersonCount(
            day=r.day,
            user_id=None if r.user_id is None else int(r.user_id),
            name=r.name or "",
            **_outcome_counts(r),
        )
        for r in rows
    ]


def top_unanswered(
    session: Session, *, org_id: int, since: datetime, limit: int = UNANSWERED_LIMIT
) -> list[UnansweredQuestion]:
    """The not-found questions since `since`, grouped by normalised text, most asked first."""
    rows = session.connection().execute(
        _UNANSWERED, {"org_id": org_id, "since": since, "limit": limit}
    )
    return [
        UnansweredQuestion(question=r.question, count=int(r.n), last_asked=r.last_asked)
        for r in rows
    ]


def thumbs_down(
    session: Session, *, org_id: int, limit: int = THUMBS_DOWN_LIMIT
) -> list[ThumbsDown]:
    """The newest answers marked 👎, with the question before them and the manuals they cited."""
    rows = session.connection().execute(_THUMBS_DOWN, {"org_id": org_id, "limit": limit})
    return [
        ThumbsDown(
            message_id=int(r.id),
            conversation_id=int(r.conversation_id),
            question=r.question,
            answer=r.content,
            manuals=r.manuals,
            created_at=r.created_at,
        )
        for r in rows
    ]


def library_figures(session: Session, *, org_id: int) -> LibraryFigures:
    """Manuals by status; pages and passages of the ready ones; bytes stored for all."""
    r = session.connection().execute(_LIBRARY, {"org_id": org_id}).one()
    return LibraryFigures(
        manuals=int(r.manuals),
        ready=int(r.ready),
        processing=int(r.processing),
        failed=int(r.failed),
        pages=int(r.pages),
        passages=int(r.passages),
        storage_bytes=int(r.storage_bytes),
    )


def failed_manuals(
    session: Session, *, org_id: int, limit: int = FAILED_MANUALS_LIMIT
) -> list[FailedManual]:
    rows = session.connection().execute(_FAILED_MANUALS, {"org_id": org_id, "limit": limit})
    return [FailedManual(document_id=int(r.id), filename=r.filename, error=r.error) for r in rows]


def answer_speed(session: Session, *, org_id: int, since: datetime) -> AnswerSpeed:
    """p50/p95 of the time to first token and to the whole answer since `since` (failed questions
    left out; None when nothing was answered)."""
    r = session.connection().execute(_SPEED, {"org_id": org_id, "since": since}).one()

    def ms(value: float | None) -> float | None:
        return None if value is None else round(float(value), 1)

    return AnswerSpeed(
        answers=int(r.answers),
        first_token_p50_ms=ms(r.ft50),
        first_token_p95_ms=ms(r.ft95),
        total_p50_ms=ms(r.t50),
        total_p95_ms=ms(r.t95),
    )
