#!/bin/sh
# Container entry point (Dockerfile CMD, docker-compose, render.yaml): scripts/start.sh ROLE
#   web      the app on $PORT (page, websocket, uploads, /api/*), after the schema is at head
#   worker   one RQ ingestion worker
#   migrate  the release step: alembic upgrade head (one migrator at a time, see db/migrate.py)
# Each role first runs `python -m techdocs_app check`: with ENVIRONMENT=production a missing or
# unsafe setting stops the start with a message naming the variables to set; then it waits (up to
# $START_WAIT_S seconds) for Postgres, Redis and, for web/worker, the migrated schema.
set -eu
cd "$(dirname "$0")/.."
ROLE="${1:-}"
WAIT="${START_WAIT_S:-120}"

case "$ROLE" in
  web)
    python -m techdocs_app check --wait "$WAIT"
    exec scripts/run_app.sh
    ;;
  worker)
    python -m techdocs_app check --wait "$WAIT"
    exec python -m workers.worker
    ;;
  migrate)
    python -m techdocs_app check --wait "$WAIT" --database-only
    exec python -m techdocs_app migrate
    ;;
  *)
    echo "usage: scripts/start.sh web|worker|migrate" >&2
    exit 64
    ;;
esac
