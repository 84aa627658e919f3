#!/usr/bin/env bash
# `make run`: the ingestion workers (WORKERS, default 1, kept running by workers.supervisor: a worker
# that exits is restarted with back-off, every restart logged) and the Reflex app on
# http://127.0.0.1:3000. Ctrl-C (or SIGTERM) stops everything cleanly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
mkdir -p .data/logs

# Reflex state in Redis lets two backend workers share the load (one per core). With the embedded
# Redis we use its database 1; with REDIS_URL set, set REFLEX_REDIS_URL yourself to opt in.
if [[ -z "${REFLEX_REDIS_URL:-}" && -z "${REDIS_URL:-}" ]] && ! grep -qs '^REDIS_URL=.' .env; then
  export REFLEX_REDIS_URL="redis://127.0.0.1:6379/1"
fi

# The supervisor logs starts, exits and restarts here and in the log; the workers log to the file.
"$VENV/bin/python" -m workers.supervisor --log .data/logs/worker.log &
worker=$!
echo "workers: supervised (pid $worker; WORKERS sets how many; log .data/logs/worker.log)"

app=""
stop() {
  trap - INT TERM EXIT
  echo "stopping workers and app..."
  [[ -n "$app" ]] && kill -TERM "$app" 2>/dev/null || true
  kill -TERM "$worker" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped."
}
trap stop INT TERM EXIT

echo "app: building and starting on http://${HOST:-127.0.0.1}:${PORT:-3000} (first build takes a minute)"
scripts/run_app.sh "$@" &
app=$!
wait "$app"
