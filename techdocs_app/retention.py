"""Retention: query logs hold the questions technicians asked; they are kept
`QUERY_LOG_RETENTION_DAYS` (365 by default) and then deleted.

`purge_query_logs()` is cross-organization maintenance (a system session): the worker runs it
periodically (`techdocs_app/maintenance.py`), and `python -m techdocs_app retention purge` runs
it by hand.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from techdocs_app.db import query_logs as logs_db
from techdocs_app.db.engine import system_session_scope
from techdocs_app.db.models import utcnow
from techdocs_app.settings import get_settings

log = logging.getLogger(__name__)


def purge_query_logs(*, days: int | None = None, dry_run: bool = False) -> int:
    """Delete query logs older than `days` (default: the setting); 0 days keeps everything.
    Returns the number of rows deleted (or that would be, with `dry_run`)."""
    keep_days = get_settings().query_log_retention_days if days is None else days
    if keep_days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=keep_days)
    with system_session_scope() as session:
        count = logs_db.purge_query_logs(session, before=cutoff, dry_run=dry_run)
    if count and not dry_run:
        log.info("purged %s query log rows older than %s days", count, keep_days)
    return count
