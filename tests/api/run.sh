#!/usr/bin/env bash
# The API against its own OpenAPI document: validates the document as OpenAPI 3.1, then
# starts scripts/local-stack.sh and runs schemathesis on every operation with the checks
# not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance (tests/api/schemathesis.toml), in three passes:
#   1. a project's API key, with real ids of its webhook, event and delivery in paths;
#   2. the admin token, on the operations project 0 and the admin-only routes;
#   3. the admin token on the project of pass 1 (all but its deletion and key rotation);
#   4. the key rotation alone (it ends the key the first pass uses).
# HOOKLINE_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 25).
# One worker: with two, hypothesis's threads hit a CPython 3.11 bug in ast.parse ("AST
# constructor recursion depth mismatch") now and then, failing the run with no API fault.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
source scripts/lib/emulators.sh
install_schemathesis
WORK="$(mktemp -d)"
ST="$SCHEMATHESIS_VENV/bin/schemathesis"
EXAMPLES="${HOOKLINE_SCHEMATHESIS_EXAMPLES:-25}"

log "openapi.json is a valid OpenAPI 3.1 document"
"$SCHEMATHESIS_VENV/bin/python" -c 'import json,sys; from openapi_spec_validator import validate; d=json.load(open(sys.argv[1])); assert d["openapi"].startswith("3.1"); validate(d)' openapi.json

PORT="$(free_port)"
export HOOKLINE_PORT="$PORT" HOOKLINE_ADMIN_TOKEN="schemathesis-admin-token" HOOKLINE_LOG_DIR="$WORK/logs"
# The fuzzer sends thousands of requests: a limit high enough not to measure only 429s.
export HOOKLINE_RATE_LIMIT_PER_MINUTE=60000 HOOKLINE_RATE_LIMIT_BURST=1000000
setsid scripts/local-stack.sh >"$WORK/stack.log" 2>&1 &
STACK_PID=$!
trap 'kill -INT -- -"$STACK_PID" 2>/dev/null || true; wait "$STACK_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "Hookline is running" "$WORK/stack.log" && break; sleep 0.5; done
grep -q "Hookline is running" "$WORK/stack.log" || { cat "$WORK/stack.log"; exit 1; }
HL="http://127.0.0.1:$PORT"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }
post() { curl -sf -X POST "$HL$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }

# Fixtures: a project, a webhook, an event with its delivery, a catalogue type.
project="$(post /api/v1/projects "$HOOKLINE_ADMIN_TOKEN" '{"name": "Schemathesis", "client_id": 7}')"
KEY="$(echo "$project" | json 'd["result"]["api_key"]')"
PID="$(echo "$project" | json 'd["result"]["project_id"]')"
WH="$(post "/api/v1/projects/$PID/webhooks" "$KEY" '{"name": "r", "url": "http://127.0.0.1:9/hook"}' | json 'd["result"]["id"]')"
EVT="$(post /api/v1/events "$KEY" '{"event_type": "order.paid", "data": {"n": 1}}' | json 'd["result"]["event_id"]')"
DLV="$(curl -sf "$HL/api/v1/projects/$PID/events/$EVT" -H "Authorization: Bearer $KEY" | json 'd["result"]["deliveries"][0]["id"]')"
post /api/v1/event-types "$HOOKLINE_ADMIN_TOKEN" '{"name": "order.paid", "description": "An order was paid"}' >/dev/null

run() { # description, token, project id, extra args...
  local what="$1" token="$2" pid="$3"; shift 3
  log "schemathesis: $what"
  HOOKLINE_TOKEN="$token" HOOKLINE_PROJECT_ID="$pid" HOOKLINE_WEBHOOK_ID="$WH" HOOKLINE_EVENT_ID="$EVT" \
    HOOKLINE_DELIVERY_ID="$DLV" HOOKLINE_EVENT_TYPE="order.paid" \
    "$ST" --config-file tests/api/schemathesis.toml run "$HL/api/v1/openapi.json" \
    --max-examples "$EXAMPLES" --phases examples,coverage,fuzzing --workers 1 --seed 20261124 \
    --no-color --output-truncate true --report junit --report-dir "$WORK/reports" "$@"
}
run "every operation with a project API key" "$KEY" "$PID" --exclude-operation-id rotateApiKey
run "every operation with the admin token, on project 0" "$HOOKLINE_ADMIN_TOKEN" 0 --exclude-operation-id rotateApiKey
run "every operation with the admin token, on project $PID" "$HOOKLINE_ADMIN_TOKEN" "$PID" \
  --exclude-operation-id rotateApiKey --exclude-operation-id deleteProject
run "API key rotation" "$KEY" "$PID" --include-operation-id rotateApiKey
log "schemathesis: no failures"
