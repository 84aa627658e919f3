"""`services up|down|status` and `migrate`: the embedded Postgres and Redis, and the schema."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("services", help="start/stop the embedded Postgres and Redis")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head`")
    p.set_defaults(func=run)
    m = sub.add_parser("migrate", help="alembic upgrade head on DATABASE_URL")
    m.set_defaults(func=run_migrate)


def run_migrate(args: argparse.Namespace | None = None) -> int:
    from techdocs_app.db.migrate import upgrade_head

    upgrade_head()
    print("database: migrated to head")
    return 0


def run(args: argparse.Namespace) -> int:
    from techdocs_app import embedded

    try:
        if args.action == "up":
            for status in embedded.up():
                print(f"{status.name}: {status.where} ({status.note})")
            if not args.no_migrate:
                run_migrate()
        elif args.action == "down":
            for line in embedded.down():
                print(line)
        else:
            from techdocs_app.settings import get_settings

            settings = get_settings()
            data = embedded.pg_data_dir(settings)
            print(f"postgres: {settings.effective_database_url} (data {data})")
            print(f"redis: {settings.effective_redis_url}")
    except embedded.ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
