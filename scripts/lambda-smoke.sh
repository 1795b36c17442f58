#!/usr/bin/env bash
# Smoke test of the four Lambda functions as Lambda runs them, with cargo-lambda
# and the API Gateway / SQS events in fixtures/:
#   1. `cargo lambda watch` starts each function (debug build) on its first
#      `cargo lambda invoke <function> --data-file fixtures/...`;
#   2. the release binaries run against `cargo lambda watch --only-lambda-apis`
#      (the Lambda runtime API), end to end: project, webhook, event, the SQS
#      messages handed to the delivery function, a signed POST to a receiver.
# Both run against DynamoDB Local and moto's SQS on loopback. Installs what it
# needs on first run (cargo-lambda from PyPI into .venv), stops everything it
# started on exit, and ends with the line "N passed, M failed".
# HOOKLINE_SMOKE_PROFILE=debug runs part 2 with the debug binaries (no release build).
set -euo pipefail
source "$(dirname "$0")/lib/emulators.sh"
cd "$HOOKLINE_ROOT"

CARGO_LAMBDA_VERSION="1.9.2"
# The admin token of fixtures/create-project.json: the functions accept it because
# HOOKLINE_ADMIN_TOKEN is set to it here (use the same value with `cargo lambda watch`).
ADMIN_TOKEN="adm_hookline-fixtures-local-only"
FUNCTIONS=(config-api event-intake test-trigger delivery)
PROFILE="${HOOKLINE_SMOKE_PROFILE:-release}"
case "$PROFILE" in release | debug) ;; *) echo "HOOKLINE_SMOKE_PROFILE must be release or debug" >&2; exit 2 ;; esac
WORK="$HOOKLINE_ROOT/.local/lambda-smoke"   # logs and rendered fixtures, new each run
SMOKE=("$VENV/bin/python" -B "$HOOKLINE_ROOT/scripts/lib/lambda_smoke.py")
PASSED=0
FAILED=0
BG_PIDS=()
STARTED_AT=$SECONDS

cargo_lambda() { "$VENV/bin/cargo-lambda" lambda "$@"; }

install_cargo_lambda() {
  local have
  have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("cargo-lambda"))' 2>/dev/null || true)"
  if [ "$have" != "$CARGO_LAMBDA_VERSION" ] || [ ! -x "$VENV/bin/cargo-lambda" ]; then
    log "installing cargo-lambda $CARGO_LAMBDA_VERSION into .venv"
    # --no-deps: its only dependency, ziglang, is for cross-compiling (`cargo lambda build`),
    # which this script does not do: watch and invoke need no zig.
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "cargo-lambda==$CARGO_LAMBDA_VERSION"
  fi
}

# Starts a command in its own process group (so that stopping it stops its children too).
start_bg() { # logfile command...
  local logfile=$1
  shift
  setsid "$@" >"$logfile" 2>&1 &
  BG_PIDS+=("$!")
}

stop_bg() {
  local pid
  for pid in "${BG_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BG_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  BG_PIDS=()
  stop_watch_instances
}

# `cargo lambda watch` starts each function in a process group of its own and stops them
# when it is stopped; should one outlive it, stop it by the group id that watch logged.
stop_watch_instances() {
  local log="$WORK/logs/watch.log" pgid names
  [ -f "$log" ] || return 0
  names="$(IFS='|'; echo "${FUNCTIONS[*]}")"
  for pgid in $(sed -n 's/.*process group spawned pgid=\([0-9]*\).*/\1/p' "$log"); do
    if ps -o args= -p "$pgid" 2>/dev/null | grep -qE "target/debug/($names)\b|cargo run"; then
      kill -TERM -- "-$pgid" 2>/dev/null || true
    fi
  done
}

finish() {
  local rc=$?
  trap - EXIT
  stop_bg
  stop_emulators
  if [ "$rc" -ne 0 ] && [ "$FAILED" -eq 0 ]; then
    FAILED=1
    log "aborted (exit $rc); logs in ${WORK#"$HOOKLINE_ROOT"/}"
  elif [ "$FAILED" -ne 0 ]; then
    log "failed; logs in ${WORK#"$HOOKLINE_ROOT"/}"
  else
    log "all checks passed in $((SECONDS - STARTED_AT))s"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] || exit 1
}

passed() { PASSED=$((PASSED + 1)); }
failed() {
  FAILED=$((FAILED + 1))
  exit 1
}

# invoke PORT FUNCTION FIXTURE: writes the answer to $WORK/out/<n>-<function>-<fixture>.out (OUT).
INVOKES=0
invoke() {
  local port=$1 fn=$2 data=$3
  INVOKES=$((INVOKES + 1))
  OUT="$WORK/out/$(printf '%02d' "$INVOKES")-$fn-$(basename "$data" .json).out"
  log "cargo lambda invoke $fn --data-file ${data#"$HOOKLINE_ROOT"/}"
  cargo_lambda invoke "$fn" --invoke-address 127.0.0.1 --invoke-port "$port" --data-file "$data" >"$OUT" 2>&1 || true
}

# expect NAME [check options]: asserts on the HTTP answer in $OUT; sets the --save variables.
expect() {
  local name=$1 saved
  shift
  if saved="$("${SMOKE[@]}" check "$name" "$OUT" "$@")"; then
    passed
    eval "$saved"
  else
    failed
  fi
}

expect_batch() { # NAME FAILURES
  if "${SMOKE[@]}" check-batch "$1" "$OUT" --failures "$2"; then passed; else failed; fi
}

render() { # SRC DST [render options]
  "${SMOKE[@]}" render "$@"
}

# Creates a table and a delivery queue (with its dead-letter queue) as template.yaml defines them.
setup_resources() { # name
  local out
  export HOOKLINE_TABLE="$1"
  out="$(HOOKLINE_QUEUE_NAME="$1" "$HOOKLINE_ROOT/target/debug/hookline-local" --setup-only)"
  export HOOKLINE_QUEUE_URL
  HOOKLINE_QUEUE_URL="$(printf '%s\n' "$out" | sed -n 's/^HOOKLINE_QUEUE_URL=//p')"
  [ -n "$HOOKLINE_QUEUE_URL" ] || { log "hookline-local --setup-only printed no queue URL"; return 1; }
  # The delivery function's repair sweep drains this one back.
  export HOOKLINE_DEAD_LETTER_QUEUE_URL
  HOOKLINE_DEAD_LETTER_QUEUE_URL="$(printf '%s\n' "$out" | sed -n 's/^HOOKLINE_DEAD_LETTER_QUEUE_URL=//p')"
  log "table $HOOKLINE_TABLE, queue $HOOKLINE_QUEUE_URL"
}

trap finish EXIT
trap 'exit 130' INT TERM

install_emulators
install_cargo_lambda

log "building hookline-local and the functions (debug, as cargo lambda watch runs them)"
cargo build -q -p hookline-local --bin hookline-local
for fn in "${FUNCTIONS[@]}"; do
  # One at a time, like the `cargo run --bin <fn>` of watch, so that watch finds them built.
  cargo build -q --bin "$fn"
done
if [ "$PROFILE" = release ]; then
  log "building the functions (release)"
  started=$SECONDS
  cargo build -q --release "${FUNCTIONS[@]/#/--bin=}"
  log "release build took $((SECONDS - started))s"
fi

rm -rf "$WORK"
mkdir -p "$WORK/out" "$WORK/events" "$WORK/logs"
HOOKLINE_LOG_DIR="$WORK/logs" start_emulators

export HOOKLINE_ADMIN_TOKEN="$ADMIN_TOKEN"
unset HOOKLINE_ADMIN_TOKEN_SHA256
export HOOKLINE_ALLOW_HTTP=true HOOKLINE_ALLOW_PRIVATE_DESTINATIONS=true
export RUST_LOG="${RUST_LOG:-info}"

RECEIVER_PORT="$(free_port)"
RECEIVED="$WORK/received.jsonl"
log "webhook receiver on 127.0.0.1:$RECEIVER_PORT"
start_bg "$WORK/logs/receiver.log" "${SMOKE[@]}" receiver "$RECEIVER_PORT" "$RECEIVED"
wait_for_port "$RECEIVER_PORT" "the webhook receiver"

###############################################################################
log "part 1: cargo lambda watch, every fixture through cargo lambda invoke"
setup_resources hookline-smoke-watch
WATCH_PORT="$(free_port)"
log "cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port $WATCH_PORT"
start_bg "$WORK/logs/watch.log" "$VENV/bin/cargo-lambda" lambda watch --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT"
WATCH_PID=${BG_PIDS[-1]}
wait_for_port "$WATCH_PORT" "cargo lambda watch"
F="$HOOKLINE_ROOT/fixtures"
E="$WORK/events"

# The committed fixtures as they are: the admin token is the one set above, the API key a placeholder.
invoke "$WATCH_PORT" config-api "$F/create-project.json"
expect "config-api create-project.json" --status 201 --envelope success --field result.name=Acme \
  --prefix result.api_key=hk_ --save KEY=result.api_key --save PROJECT=result.project_id
invoke "$WATCH_PORT" config-api "$F/get-project.json"
expect "config-api get-project.json (placeholder key)" --status 401 --envelope error
invoke "$WATCH_PORT" config-api "$F/create-webhook.json"
expect "config-api create-webhook.json (placeholder key)" --status 401 --envelope error
invoke "$WATCH_PORT" event-intake "$F/post-event.json"
expect "event-intake post-event.json (placeholder key)" --status 401 --envelope error
invoke "$WATCH_PORT" event-intake "$F/custom-event.json"
expect "event-intake custom-event.json (placeholder key)" --status 401 --envelope error
invoke "$WATCH_PORT" test-trigger "$F/webhook-test.json"
expect "test-trigger webhook-test.json (placeholder key)" --status 401 --envelope error
invoke "$WATCH_PORT" delivery "$F/sqs-batch.json"
expect_batch "delivery sqs-batch.json (wake-ups of events never stored do nothing)" 0
invoke "$WATCH_PORT" delivery "$F/scheduled-sweep.json"
if "${SMOKE[@]}" check-sweep "delivery scheduled-sweep.json (the repair sweep)" "$OUT"; then passed; else failed; fi

# Copies with the project's real key and ids.
render "$F/get-project.json" "$E/get-project.json" --key "$KEY" --project-id "$PROJECT"
invoke "$WATCH_PORT" config-api "$E/get-project.json"
expect "config-api get-project (real key)" --status 200 --envelope success --field result.project_id="$PROJECT" \
  --field result.client_id=19817472
render "$F/create-webhook.json" "$E/create-webhook.json" --key "$KEY" --project-id "$PROJECT"
invoke "$WATCH_PORT" config-api "$E/create-webhook.json"
expect "config-api create-webhook (real key)" --status 201 --envelope success --prefix result.id=wh_ \
  --prefix result.secret=whsec_ --save WEBHOOK=result.id
render "$F/post-event.json" "$E/post-event.json" --key "$KEY"
invoke "$WATCH_PORT" event-intake "$E/post-event.json"
expect "event-intake post-event (real key)" --status 202 --envelope success \
  --field result.event_type=submission.completed --field result.deliveries=1 --save EVENT=result.event_id
invoke "$WATCH_PORT" event-intake "$E/post-event.json"
expect "event-intake post-event again (Idempotency-Key replay)" --status 202 --envelope success \
  --field result.event_id="$EVENT" --header Idempotent-Replayed=true
render "$F/custom-event.json" "$E/custom-event.json" --key "$KEY"
invoke "$WATCH_PORT" event-intake "$E/custom-event.json"
expect "event-intake custom-event (real key)" --status 202 --envelope success \
  --field result.event_type=custom.signup --field result.deliveries=0
render "$F/webhook-test.json" "$E/webhook-test.json" --key "$KEY" --project-id "$PROJECT" --webhook-id "$WEBHOOK"
invoke "$WATCH_PORT" test-trigger "$E/webhook-test.json"
expect "test-trigger webhook-test (real key)" --status 202 --envelope success --prefix result.id=evt_ \
  --field result.event_type=webhook.test

log "stopping cargo lambda watch"
kill -TERM -- "-$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
stop_watch_instances

###############################################################################
log "part 2: $PROFILE binaries on the Lambda runtime API of cargo lambda watch --only-lambda-apis"
setup_resources hookline-smoke-e2e
RUNTIME_PORT="$(free_port)"
log "cargo lambda watch --only-lambda-apis --invoke-address 127.0.0.1 --invoke-port $RUNTIME_PORT"
start_bg "$WORK/logs/runtime-api.log" "$VENV/bin/cargo-lambda" lambda watch --only-lambda-apis \
  --invoke-address 127.0.0.1 --invoke-port "$RUNTIME_PORT"
wait_for_port "$RUNTIME_PORT" "cargo lambda watch --only-lambda-apis"
declare -A FN_PID
for fn in "${FUNCTIONS[@]}"; do
  # Each function polls its own path of the runtime API: /.rt/<function name>.
  log "target/$PROFILE/$fn with AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:$RUNTIME_PORT/.rt/$fn"
  start_bg "$WORK/logs/$fn.log" env AWS_LAMBDA_FUNCTION_NAME="$fn" AWS_LAMBDA_FUNCTION_VERSION=1 \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$RUNTIME_PORT/.rt/$fn" \
    "$HOOKLINE_ROOT/target/$PROFILE/$fn"
  FN_PID[$fn]=${BG_PIDS[-1]}
done
sleep 1
for fn in "${FUNCTIONS[@]}"; do
  kill -0 "${FN_PID[$fn]}" 2>/dev/null || { log "$fn exited at start:"; cat "$WORK/logs/$fn.log" >&2; exit 1; }
done

invoke "$RUNTIME_PORT" config-api "$F/create-project.json"
expect "$PROFILE config-api: create a project (admin token)" --status 201 --envelope success \
  --save KEY=result.api_key --save PROJECT=result.project_id
render "$F/create-webhook.json" "$E/e2e-create-webhook.json" --key "$KEY" --project-id "$PROJECT" \
  --body "{\"name\": \"Smoke receiver\", \"url\": \"http://127.0.0.1:$RECEIVER_PORT/hooks/smoke\", \"event_types\": [\"submission.*\"]}"
invoke "$RUNTIME_PORT" config-api "$E/e2e-create-webhook.json"
expect "$PROFILE config-api: create a webhook to the receiver" --status 201 --envelope success \
  --save WEBHOOK=result.id --save SECRET=result.secret
render "$F/post-event.json" "$E/e2e-post-event.json" --key "$KEY"
invoke "$RUNTIME_PORT" event-intake "$E/e2e-post-event.json"
expect "$PROFILE event-intake: post an event" --status 202 --envelope success --field result.deliveries=1 \
  --save EVENT=result.event_id

deliver() { # NAME EVENT_TYPE EXPECTED_TOTAL: the queued message -> delivery -> receiver
  local batch="$E/e2e-sqs-$3.json"
  log "receiving the queued message from $HOOKLINE_QUEUE_URL"
  if "${SMOKE[@]}" sqs-event "$HOOKLINE_QUEUE_URL" "$batch" --count 1 --timeout 20; then passed; else failed; fi
  invoke "$RUNTIME_PORT" delivery "$batch"
  expect_batch "$PROFILE delivery: $1" 0
  "${SMOKE[@]}" sqs-delete "$HOOKLINE_QUEUE_URL" "$batch"
  if "${SMOKE[@]}" check-received "receiver: $1" "$RECEIVED" "$SECRET" --event-type "$2" --count "$3"; then
    passed
  else
    failed
  fi
}
deliver "submission.completed" submission.completed 1

render "$F/get-project.json" "$E/e2e-get-event.json" --key "$KEY" --path "/api/v1/projects/$PROJECT/events/$EVENT"
invoke "$RUNTIME_PORT" config-api "$E/e2e-get-event.json"
expect "$PROFILE config-api: the event's delivery is logged as success" --status 200 --envelope success \
  --field result.id="$EVENT" --field result.deliveries.0.status=success --field result.response_code=200

render "$F/webhook-test.json" "$E/e2e-webhook-test.json" --key "$KEY" --project-id "$PROJECT" --webhook-id "$WEBHOOK"
invoke "$RUNTIME_PORT" test-trigger "$E/e2e-webhook-test.json"
expect "$PROFILE test-trigger: test the webhook" --status 202 --envelope success --field result.event_type=webhook.test
deliver "webhook.test" webhook.test 2

for fn in "${FUNCTIONS[@]}"; do
  kill -0 "${FN_PID[$fn]}" 2>/dev/null || { log "$fn is no longer running:"; cat "$WORK/logs/$fn.log" >&2; exit 1; }
done
