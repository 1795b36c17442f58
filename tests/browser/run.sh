#!/usr/bin/env bash
# Browser suite for the dashboard (tests/browser/test_dashboard.py) in Debian's Chromium.
#
# By default it starts its own scripts/local-stack.sh (free port, its own admin token, a short
# retry schedule) and tests the dashboard that stack serves at /dashboard/. To test another
# running stack instead, set HOOKLINE_URL and HOOKLINE_ADMIN_TOKEN; HOOKLINE_DASHBOARD_URL
# points at the dashboard when it is not $HOOKLINE_URL/dashboard/ (e.g. a dev proxy that
# serves dashboard/ and forwards /api/ to the stack: the two must share an origin).
# Arguments select tests by name substring. Screenshots go to .local/screenshots/.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
source scripts/lib/emulators.sh
install_browser

WORK="$(mktemp -d)"
STACK_PID=""
cleanup() {
  if [ -n "$STACK_PID" ]; then
    kill -INT -- -"$STACK_PID" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${HOOKLINE_URL:-}" ]; then
  PORT="$(free_port)"
  export HOOKLINE_PORT="$PORT" HOOKLINE_ADMIN_TOKEN="browser-admin-$(date +%s)-$RANDOM"
  export HOOKLINE_RETRY_SCHEDULE="1s,1s" HOOKLINE_DELIVERY_TIMEOUT="3s"
  export HOOKLINE_RATE_LIMIT_PER_MINUTE=60000 HOOKLINE_RATE_LIMIT_BURST=10000
  export HOOKLINE_DISABLE_AFTER=2s HOOKLINE_DISABLE_AFTER_FAILURES=10
  export HOOKLINE_LOG_DIR="$WORK/logs"
  log "starting the local stack on :$PORT (the first build takes several minutes)"
  setsid scripts/local-stack.sh >"$WORK/stack.log" 2>&1 &
  STACK_PID=$!
  for _ in $(seq 1 1800); do
    grep -q "Hookline is running" "$WORK/stack.log" && break
    kill -0 "$STACK_PID" 2>/dev/null || break
    sleep 0.5
  done
  if ! grep -q "Hookline is running" "$WORK/stack.log"; then
    log "the local stack did not start:"; tail -n 30 "$WORK/stack.log" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  export HOOKLINE_URL="http://127.0.0.1:$PORT"
fi
: "${HOOKLINE_ADMIN_TOKEN:?set HOOKLINE_ADMIN_TOKEN to the admin token of the stack at HOOKLINE_URL}"
export HOOKLINE_URL HOOKLINE_ADMIN_TOKEN
export AXE_SCRIPT="$(axe_script)"
log "browser suite against ${HOOKLINE_DASHBOARD_URL:-$HOOKLINE_URL/dashboard/}"
status=0
timeout 900 "$VENV/bin/python" tests/browser/test_dashboard.py "$@" || status=$?
exit "$status"
