#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and prints the figures: the Criterion
# hot-path benches (signing, payloads), then the delivery function, the intake
# and the cold starts against DynamoDB Local and moto's SQS (started here and
# stopped on exit), and finally the summary with the targets and the cost model.
# Installs what it needs on first run. Builds into target-bench/ so that it never
# waits on the lock of the shared target/.
#
#   scripts/bench.sh            everything (about 10 minutes on 2 cores, after the build)
#   scripts/bench.sh hot        only the Criterion benches
#   scripts/bench.sh delivery   only the delivery function  (also: intake, cold, report)
set -euo pipefail
source "$(dirname "$0")/lib/emulators.sh"
cd "$HOOKLINE_ROOT"

what="${1:-all}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOOKLINE_ROOT/target-bench}"
export HOOKLINE_BENCH_OUT="${HOOKLINE_BENCH_OUT:-$CARGO_TARGET_DIR/bench-results}"
export HOOKLINE_BENCH_CRITERION="$CARGO_TARGET_DIR/criterion"
export HOOKLINE_BENCH_FUNCTIONS_DIR="$CARGO_TARGET_DIR/release"
mkdir -p "$HOOKLINE_BENCH_OUT"
bin="$CARGO_TARGET_DIR/release"

log "building release binaries (functions and benchmark drivers) into $CARGO_TARGET_DIR"
cargo build --release -q -p config-api -p event-intake -p delivery -p test-trigger -p hookline-benches --bins

if [ "$what" = all ] || [ "$what" = hot ]; then
  log "Criterion: signing and payload building (1 KiB, 16 KiB, 256 KiB)"
  cargo bench -q -p hookline-benches --bench hot_path 2>&1 | tee "$HOOKLINE_BENCH_OUT/hot_path.txt" \
    | grep -E "^(signing|payload)/|time:|thrpt:" || true
fi

if [ "$what" != hot ] && [ "$what" != report ]; then
  install_emulators
  trap 'stop_emulators' EXIT
  HOOKLINE_LOG_DIR="$HOOKLINE_BENCH_OUT/emulators" start_emulators
  # Let the JVM of DynamoDB Local settle before anything is timed.
  sleep 2
  if [ "$what" = all ] || [ "$what" = delivery ]; then
    log "delivery function: process_batch against the emulators, through the counting proxy, and with storage answered instantly"
    "$bin/delivery_bench" | tee "$HOOKLINE_BENCH_OUT/delivery.txt"
  fi
  if [ "$what" = all ] || [ "$what" = intake ]; then
    # A fresh moto: its SendMessage cost grows with what earlier runs left in it.
    stop_emulators; HOOKLINE_LOG_DIR="$HOOKLINE_BENCH_OUT/emulators" start_emulators; sleep 2
    log "intake: POST /api/v1/events at fan-out 1, 10 and 1000"
    "$bin/intake_bench" | tee "$HOOKLINE_BENCH_OUT/intake.txt"
  fi
  if [ "$what" = all ] || [ "$what" = cold ]; then
    log "cold starts of the four release binaries"
    "$bin/cold_start" | tee "$HOOKLINE_BENCH_OUT/cold_start.txt"
  fi
fi

log "summary (also in $HOOKLINE_BENCH_OUT/report.md)"
"$bin/bench_report" | tee "$HOOKLINE_BENCH_OUT/report.md"
