"""`check`: can this process start? The first thing the container image runs (scripts/start.sh).

1. The settings: with ENVIRONMENT=production every unsafe development default is refused, and the
   message names each variable to set (exit 78, EX_CONFIG). A value that does not parse is named too.
2. With `--wait S`: waits up to S seconds for Postgres and Redis to answer and (unless
   `--database-only`) for the schema to reach this code's head (the release step migrates), saying
   what it is waiting for; exit 69 (EX_UNAVAILABLE) when they never come.
"""

from __future__ import annotations

import argparse
import sys
import time

EX_CONFIG = 78
EX_UNAVAILABLE = 69
REPORT_EVERY_S = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check the configuration (and wait for the services)")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for Postgres, Redis and migrations at head",
    )
    p.add_argument(
        "--database-only",
        action="store_true",
        help="wait only for Postgres (the migration step runs before the schema is at head)",
    )
    p.set_defaults(func=run)


def configuration_problems() -> str | None:
    """None when the settings can be used, else a message naming what to set."""
    from pydantic import ValidationError

    from techdocs_app.settings import Settings, UnsafeProductionSettings

    try:
        settings = Settings()
    except ValidationError as exc:
        names = sorted({str(err["loc"][0]).upper() for err in exc.errors() if err.get("loc")})
        return "These settings have values that cannot be read: " + ", ".join(names)
    try:
        settings.check_production()
    except UnsafeProductionSettings as exc:
        return str(exc)
    return None


def run(args: argparse.Namespace) -> int:
    problem = configuration_problems()
    if problem:
        print(
            f"TechDocs AI cannot start.\n{problem}\n"
            "Every variable is described in .env.example (and in the README's Configuration).",
            file=sys.stderr,
        )
        return EX_CONFIG
    if args.wait <= 0:
        print("configuration: ok")
        return 0
    from techdocs_app.observability.health import check_database, check_redis

    deadline = time.monotonic() + args.wait
    last_report = 0.0
    while True:
        postgres, migrations = check_database()
        checks = [postgres] if args.database_only else [postgres, check_redis(), migrations]
        failing = [c for c in checks if not c.ok]
        if not failing:
            print("ready: " + ", ".join(c.name for c in checks))
            return 0
        now = time.monotonic()
        waiting = "; ".join(f"{c.name} {c.detail}".strip() for c in failing)
        if now >= deadline:
            print(
                f"TechDocs AI cannot start: still waiting after {args.wait:g} s for {waiting}. "
                "Check DATABASE_URL and REDIS_URL, and that the release step "
                "(`python -m techdocs_app migrate`) has run.",
                file=sys.stderr,
            )
            return EX_UNAVAILABLE
        if now - last_report >= REPORT_EVERY_S:
            print(f"waiting for {waiting}", file=sys.stderr, flush=True)
            last_report = now
        time.sleep(1.0)
