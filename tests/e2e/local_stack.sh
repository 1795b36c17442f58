#!/usr/bin/env bash
# End to end through the README's first command: starts scripts/local-stack.sh,
# drives it with curl as the README does, checks that a receiver on loopback gets
# the event signed so that the PyPI standardwebhooks library verifies it, that a
# failed first attempt is retried on the configured schedule, and that Ctrl-C
# stops everything the stack started; and an ed25519 webhook's v1a signatures verified with
# PyPI cryptography through a key rotation.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
source scripts/lib/emulators.sh
WORK="$(mktemp -d)"
passed=0; failed=0
check() { # description, command...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   - $what"; else failed=$((failed + 1)); echo "FAIL - $what"; fi
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }

PORT="$(free_port)"; RX_PORT="$(free_port)"
export HOOKLINE_PORT="$PORT" HOOKLINE_ADMIN_TOKEN="e2e-admin-token" HOOKLINE_RETRY_SCHEDULE="1s,1s" HOOKLINE_DELIVERY_TIMEOUT="3s"
export HOOKLINE_LOG_DIR="$WORK/logs"
setsid scripts/local-stack.sh >"$WORK/stack.log" 2>&1 &
STACK_PID=$!
cleanup() { kill -INT -- -"$STACK_PID" 2>/dev/null || true; kill "${RX_PID:-}" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 600); do grep -q "Hookline is running" "$WORK/stack.log" && break; sleep 0.5; done
check "local stack starts and prints the admin token" grep -q "admin token:     e2e-admin-token" "$WORK/stack.log"

HL="http://127.0.0.1:$PORT"
project="$(curl -s -X POST "$HL/api/v1/projects" -H "Authorization: Bearer $HOOKLINE_ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name": "Acme", "client_id": 19817472}')"
KEY="$(echo "$project" | json 'd["result"]["api_key"]')"
PID="$(echo "$project" | json 'd["result"]["project_id"]')"
check "project created with a key" test "${KEY:0:3}" = "hk_"

webhook="$(curl -s -X POST "$HL/api/v1/projects/$PID/webhooks" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' \
  -d "{\"name\": \"Receiver\", \"url\": \"http://127.0.0.1:$RX_PORT/hook?key={VerificationKey}\"}")"
echo "$webhook" | json 'd["result"]["secret"]' >"$WORK/secret"
WH="$(echo "$webhook" | json 'd["result"]["id"]')"
check "webhook created with a whsec_ secret" grep -q '^whsec_' "$WORK/secret"

"$VENV/bin/python" tests/e2e/receiver.py "$RX_PORT" "$WORK/secret" "$WORK/received.jsonl" &
RX_PID=$!
wait_for_port "$RX_PORT" receiver

status="$(curl -s -o "$WORK/event.json" -w '%{http_code}' -X POST "$HL/api/v1/events" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' -H 'Idempotency-Key: e2e-1' \
  -d '{"event_type": "submission.completed", "data": {"submissionId": "sub_123456"}}')"
check "event accepted with 202" test "$status" = 202
EVT="$(json 'd["result"]["event_id"]' <"$WORK/event.json")"

for _ in $(seq 1 120); do [ "$(wc -l <"$WORK/received.jsonl" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.5; done
check "receiver saw the failed attempt and its retry" test "$(wc -l <"$WORK/received.jsonl")" -eq 2
check "standardwebhooks verified every request" \
  python3 -c 'import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if rs and all(r["verified"] is True for r in rs) else 1)' "$WORK/received.jsonl"
check "both attempts carry the same webhook-id" \
  python3 -c 'import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; ids={r["headers"]["webhook-id"] for r in rs}; sys.exit(0 if len(ids)==1 else 1)' "$WORK/received.jsonl"

sleep 1
log="$(curl -s "$HL/api/v1/projects/$PID/webhooks/$WH/deliveries" -H "Authorization: Bearer $KEY")"
check "delivery log shows success after 2 attempts" test "$(echo "$log" | json '(d["result"]["items"][0]["status"], d["result"]["items"][0]["attempts"])')" = "('success', 2)"
event="$(curl -s "$HL/api/v1/projects/$PID/events/$EVT" -H "Authorization: Bearer $KEY")"
check "activity view shows the event with its payload" test "$(echo "$event" | json 'd["result"]["data"]["submissionId"]')" = "sub_123456"

# An ed25519 webhook (docs/api.md §17): v1a signatures verified with PyPI cryptography and the
# public key the API shows, then with both keys after a rotation.
RX2_PORT="$(free_port)"
ed="$(curl -s -X POST "$HL/api/v1/projects/$PID/webhooks" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' \
  -d "{\"name\": \"Ed25519\", \"url\": \"http://127.0.0.1:$RX2_PORT/hook\", \"signature_scheme\": \"ed25519\", \"event_types\": [\"key.*\"]}")"
echo "$ed" | json 'd["result"]["public_key"]' >"$WORK/public_key"
ED="$(echo "$ed" | json 'd["result"]["id"]')"
check "ed25519 webhook shows a whpk_ public key and no secret" \
  test "$(grep -c '^whpk_' "$WORK/public_key")/$(echo "$ed" | json '"secret" in d["result"]')" = "1/False"
"$VENV/bin/python" tests/e2e/receiver.py "$RX2_PORT" "$WORK/public_key" "$WORK/received_ed.jsonl" &
RX2_PID=$!
wait_for_port "$RX2_PORT" "ed25519 receiver"
curl -s -o /dev/null -X POST "$HL/api/v1/events" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"event_type": "key.created", "data": {"n": 1}}'
for _ in $(seq 1 120); do [ "$(wc -l <"$WORK/received_ed.jsonl" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.5; done
rotated="$(curl -s -X POST "$HL/api/v1/projects/$PID/webhooks/$ED/rotate-secret" -H "Authorization: Bearer $KEY")"
echo "$rotated" | json 'd["result"]["public_key"]' >>"$WORK/public_key"
curl -s -o /dev/null -X POST "$HL/api/v1/events" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"event_type": "key.rotated", "data": {"n": 2}}'
for _ in $(seq 1 120); do [ "$(wc -l <"$WORK/received_ed.jsonl" 2>/dev/null || echo 0)" -ge 3 ] && break; sleep 0.5; done
check "cryptography verified every v1a request, both keys after the rotation" \
  python3 -c 'import json,sys; rs=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if len(rs)==3 and all(r["verified"] is True for r in rs) and all("x-webhook-signature" not in {k.lower() for k in r["headers"]} for r in rs) else 1)' "$WORK/received_ed.jsonl"
kill "$RX2_PID" 2>/dev/null || true

# Ctrl-C in a terminal sends SIGINT to the whole foreground process group.
children="$(pgrep -P "$STACK_PID" | tr '\n' ' ')"
kill -INT -- -"$STACK_PID"
for _ in $(seq 1 60); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.25; done
all_stopped() {
  kill -0 "$STACK_PID" 2>/dev/null && return 1
  for p in $children; do kill -0 "$p" 2>/dev/null && return 1; done
  return 0
}
check "Ctrl-C stops the stack and everything it started ($children)" all_stopped
echo "e2e: $passed passed, $failed failed"
[ "$failed" = 0 ]
