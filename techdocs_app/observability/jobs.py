"""Ingest jobs seen by the operator: log context (job id, organization) and throughput counters."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from techdocs_app.observability.logs import log_context
from techdocs_app.observability.metrics import record_ingest

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def _document_facts(document_id: int) -> tuple[int | None, int]:
    """(org_id, pages) of a job's document: the job knows only the id, so this maps it to its
    organization like a webhook maps a vendor id (a maintenance read)."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from techdocs_app.db.engine import system_session_scope

    try:
        with system_session_scope() as session:
            row = (
                session.connection()
                .execute(
                    text("SELECT org_id, pages FROM documents WHERE id = :id"), {"id": document_id}
                )
                .first()
            )
    except SQLAlchemyError:
        return None, 0
    return (int(row[0]), int(row[1] or 0)) if row else (None, 0)


def observed_ingest_job(task: F) -> F:
    """Decorate the RQ ingest task: its log lines carry the job and organization ids, and each
    finished document counts its pages, time and status (`techdocs_ingest_*`)."""

    @functools.wraps(task)
    def wrapper(document_id: int, *args: Any, **kwargs: Any) -> Any:
        from rq import get_current_job

        job = get_current_job()
        org_id, _ = _document_facts(int(document_id))
        with log_context(job_id=job.id if job else None, org_id=org_id):
            started = time.perf_counter()
            status = task(document_id, *args, **kwargs)
            if status in ("ready", "failed"):
                _, pages = _document_facts(int(document_id))
                record_ingest(status=status, pages=pages, seconds=time.perf_counter() - started)
            return status

    return wrapper  # type: ignore[return-value]
