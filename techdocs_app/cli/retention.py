"""`retention purge`: delete query logs older than the retention (QUERY_LOG_RETENTION_DAYS)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="delete data past its retention (query logs)")
    rsub = p.add_subparsers(dest="retention_action", required=True)
    purge = rsub.add_parser("purge", help="delete query logs older than the retention")
    purge.add_argument(
        "--days",
        type=int,
        default=None,
        help="keep this many days instead of QUERY_LOG_RETENTION_DAYS (365 by default)",
    )
    purge.add_argument("--dry-run", action="store_true", help="only count what would go")
    purge.set_defaults(func=run_purge)


def run_purge(args: argparse.Namespace) -> int:
    from techdocs_app.retention import purge_query_logs
    from techdocs_app.settings import get_settings

    days = args.days if args.days is not None else get_settings().query_log_retention_days
    count = purge_query_logs(days=days, dry_run=args.dry_run)
    if days <= 0:
        print("retention: QUERY_LOG_RETENTION_DAYS is 0, query logs are kept")
    elif args.dry_run:
        print(f"retention: would purge {count} query log rows older than {days} days")
    else:
        print(f"retention: purged {count} query log rows older than {days} days")
    return 0
