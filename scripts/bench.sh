#!/usr/bin/env bash
# Runs every benchmark of BENCHMARKS.md and prints the figures: the Criterion
# hot-path benches (signing, payloads), then the delivery function (units per
# delivered webhook end to end, speed, concurrency), the intake and the cold starts
# against DynamoDB Local and moto's SQS (started here and stopped on exit), the
# previous code's figures on this machine for comparison, and finally the summary
# with the targets and the cost model. Installs what it needs on first run. Builds
# into target-bench/ so that it never waits on the lock of the shared target/.
#
#   scripts/bench.sh            everything (about 30 minutes on 2 cores the first time, with the builds)
#   scripts/bench.sh hot        only the Criterion benches
#   scripts/bench.sh delivery   only the delivery function  (also: intake, cold, report)
#   scripts/bench.sh destination  only fan-out 10 to an SQS queue destination beside fan-out 10
#                               over HTTP (units, STS calls, CPU; builds only the drivers, no report)
#   scripts/bench.sh process    the release hookline-local as a user runs it: CPU per delivered webhook
#                               (1 project, 10 webhooks, 200 events = 2000 deliveries), the functions'
#                               share apart from the SQS poller's, median of 3 (HOOKLINE_PROCESS_RUNS),
#                               then the functions' instructions per delivered webhook under callgrind
#   scripts/bench.sh before     the previous code (HOOKLINE_BENCH_BEFORE_REV, default ccef751,
#                               the parent of the data-path rewrite) built and measured now:
#                               its delivery stub run (also under callgrind) and its cold starts,
#                               alternating with this code's
#
# HOOKLINE_BENCH_CALLGRIND=0 skips the callgrind runs (instruction counts).
set -euo pipefail
source "$(dirname "$0")/lib/emulators.sh"
cd "$HOOKLINE_ROOT"

what="${1:-all}"
case "$what" in
  all|hot|delivery|destination|process|intake|cold|before|report) ;;
  *) echo "usage: scripts/bench.sh [all|hot|delivery|destination|process|intake|cold|before|report]" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOOKLINE_ROOT/target-bench}"
export HOOKLINE_BENCH_OUT="${HOOKLINE_BENCH_OUT:-$CARGO_TARGET_DIR/bench-results}"
export HOOKLINE_BENCH_CRITERION="$CARGO_TARGET_DIR/criterion"
export HOOKLINE_BENCH_FUNCTIONS_DIR="$CARGO_TARGET_DIR/release"
mkdir -p "$HOOKLINE_BENCH_OUT"
bin="$CARGO_TARGET_DIR/release"
callgrind=1
if [ "${HOOKLINE_BENCH_CALLGRIND:-1}" = 0 ] || ! command -v valgrind >/dev/null 2>&1; then
  callgrind=0
  export HOOKLINE_BENCH_CALLGRIND=0
fi

if [ "$what" = destination ]; then
  log "building the benchmark drivers into $CARGO_TARGET_DIR"
  cargo build --release -q -p hookline-benches --bins
elif [ "$what" = process ]; then
  log "building hookline-local and the benchmark drivers into $CARGO_TARGET_DIR"
  cargo build --release -q -p hookline-local -p hookline-benches --bins
else
  log "building release binaries (functions and benchmark drivers) into $CARGO_TARGET_DIR"
  cargo build --release -q -p config-api -p event-intake -p delivery -p test-trigger -p hookline-local -p hookline-benches --bins
fi

runs() { [ "$what" = all ] || [ "$what" = "$1" ]; }

# The previous code, from git, with the small patch in benches/before/ that lets its
# delivery driver count instructions; built into target-bench/before.
before_rev="${HOOKLINE_BENCH_BEFORE_REV:-ccef751}"
before_src="$CARGO_TARGET_DIR/before-src"
before_bin="$CARGO_TARGET_DIR/before/release"
if runs before; then
  log "building the previous code ($before_rev) into $CARGO_TARGET_DIR/before"
  rm -rf "$before_src" && mkdir -p "$before_src"
  git archive "$before_rev" | tar -x -C "$before_src"
  patch -s -p1 -d "$before_src" < "benches/before/$before_rev-delivery_bench.patch"
  (cd "$before_src" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/before" cargo build --release -q \
    -p config-api -p event-intake -p delivery -p test-trigger -p hookline-benches --bins)
fi

if runs hot; then
  log "Criterion: signing and payload building (1 KiB, 16 KiB, 256 KiB)"
  cargo bench -q -p hookline-benches --bench hot_path 2>&1 | tee "$HOOKLINE_BENCH_OUT/hot_path.txt" \
    | grep -E "^(signing|payload)/|time:|thrpt:" || true
fi

if [ "$what" != hot ] && [ "$what" != report ]; then
  install_emulators
  trap 'stop_emulators' EXIT
  fresh_emulators() {
    # A fresh moto and DynamoDB Local: their cost grows with what earlier runs left in them.
    stop_emulators
    HOOKLINE_LOG_DIR="$HOOKLINE_BENCH_OUT/emulators" start_emulators
    # Let the JVM of DynamoDB Local settle before anything is timed.
    sleep 2
  }
  if runs delivery; then
    fresh_emulators
    log "delivery function: units per delivered webhook end to end (fan-out 1, 10, 1000, with and without the batch route, a failed attempt, throttling), speed, concurrency"
    "$bin/delivery_bench" | tee "$HOOKLINE_BENCH_OUT/delivery.txt"
  fi
  if [ "$what" = destination ]; then
    fresh_emulators
    log "delivery function: fan-out 10 to an SQS queue destination beside fan-out 10 over HTTP"
    "$bin/delivery_bench" destination | tee "$HOOKLINE_BENCH_OUT/destination.txt"
    exit 0
  fi
  if runs process; then
    fresh_emulators
    log "hookline-local (release): CPU per delivered webhook, one process and functions/poller apart"
    "$bin/process_bench" | tee "$HOOKLINE_BENCH_OUT/process.txt"
    if [ "$callgrind" = 1 ]; then
      fresh_emulators
      log "hookline-local (release): the functions' instructions per delivered webhook under callgrind"
      "$bin/process_bench" callgrind | tee "$HOOKLINE_BENCH_OUT/process_callgrind.txt"
    fi
    [ "$what" = process ] && exit 0
  fi
  if runs intake; then
    fresh_emulators
    log "intake: POST /api/v1/events and /api/v1/events/batch at fan-out 1, 10 and 1000"
    "$bin/intake_bench" | tee "$HOOKLINE_BENCH_OUT/intake.txt"
  fi
  if runs cold; then
    fresh_emulators
    log "cold starts of the four release binaries"
    "$bin/cold_start" | tee "$HOOKLINE_BENCH_OUT/cold_start.txt"
  fi
  if runs before; then
    out="$HOOKLINE_BENCH_OUT/before"
    mkdir -p "$out/callgrind-run"
    fresh_emulators
    log "previous code ($before_rev): delivery driver (stub run on a current-thread runtime)"
    HOOKLINE_BENCH_OUT="$out" HOOKLINE_BENCH_QUICK=1 "$before_bin/delivery_bench" | tee "$out/delivery.txt"
    if [ "$callgrind" = 1 ]; then
      fresh_emulators
      log "previous code ($before_rev): the same under callgrind (instructions of the measured stub passes)"
      HOOKLINE_BENCH_OUT="$out/callgrind-run" HOOKLINE_BENCH_QUICK=1 valgrind --tool=callgrind \
        --toggle-collect='*measured_region*' --callgrind-out-file="$out/callgrind-run/callgrind.out.%p" \
        "$before_bin/delivery_bench" >"$out/callgrind-run/stdout.txt" 2>"$out/callgrind-run/stderr.txt"
      ir=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$out/callgrind-run/stderr.txt" | tail -n1)
      n=$(sed -n 's/^BEFORE stub, current-thread runtime: \([0-9]*\) deliveries.*/\1/p' "$out/callgrind-run/stdout.txt" | tail -n1)
      printf '{"instructions": %s, "deliveries": %s, "rev": "%s"}\n' "${ir:-0}" "${n:-0}" "$before_rev" | tee "$out/callgrind.json"
    fi
    # Cold starts of the previous and this code's binaries, alternating, twice: the same
    # machine, minutes apart (each run with fresh emulators).
    for round in 1 2; do
      mkdir -p "$out/cold-$round/before" "$out/cold-$round/now"
      fresh_emulators
      log "cold starts, round $round of 2: previous code ($before_rev)"
      HOOKLINE_BENCH_OUT="$out/cold-$round/before" HOOKLINE_BENCH_FUNCTIONS_DIR="$before_bin" "$before_bin/cold_start" \
        | tee "$out/cold-$round/before/cold_start.txt"
      fresh_emulators
      log "cold starts, round $round of 2: this code"
      HOOKLINE_BENCH_OUT="$out/cold-$round/now" "$bin/cold_start" | tee "$out/cold-$round/now/cold_start.txt"
    done
  fi
fi

log "summary (also in $HOOKLINE_BENCH_OUT/report.md)"
"$bin/bench_report" | tee "$HOOKLINE_BENCH_OUT/report.md"
