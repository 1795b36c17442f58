#!/usr/bin/env bash
# Starts the whole Hookline stack on 127.0.0.1: DynamoDB Local, SQS (moto), the
# table and queues of template.yaml, the API on $HOOKLINE_PORT (default 3000)
# served by the real function handlers, and the delivery function fed from the
# queue. Installs what it needs on first run. Ctrl-C stops everything it started.
set -euo pipefail
source "$(dirname "$0")/lib/emulators.sh"
cd "$HOOKLINE_ROOT"

install_emulators
log "building the functions"
cargo build -q -p hookline-local --bin hookline-local
trap 'stop_emulators' EXIT
trap 'exit 130' INT TERM
start_emulators
export HOOKLINE_PORT="${HOOKLINE_PORT:-3000}"
# HOOKLINE_RETRY_SCHEDULE (e.g. 1s,2s,5s) and HOOKLINE_DELIVERY_TIMEOUT (e.g. 3s) pass through.
"${CARGO_TARGET_DIR:-$HOOKLINE_ROOT/target}/debug/hookline-local"
