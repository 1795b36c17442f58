#!/usr/bin/env bash
# Runs every check: formatting, clippy, the template linter, unit tests, and the
# integration tests against DynamoDB Local and moto's SQS (started here and
# stopped on exit). Installs what it needs on first run.
set -euo pipefail
source "$(dirname "$0")/lib/emulators.sh"
cd "$HOOKLINE_ROOT"

install_emulators
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -q -- -D warnings
log "cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml
install_sam
log "sam validate --lint"
AWS_REGION="${AWS_REGION:-us-east-1}" "$SAM_VENV/bin/sam" validate --lint
sam_build_if_possible
log "building tests"
cargo test --workspace --no-run -q
trap 'stop_emulators' EXIT
start_emulators
log "unit and integration tests"
cargo test --workspace -q -- "$@"
stop_emulators
log "end to end through scripts/local-stack.sh with curl and a standardwebhooks receiver"
tests/e2e/local_stack.sh
log "the API against its OpenAPI document: openapi-spec-validator, then schemathesis on the local stack"
tests/api/run.sh
log "the dashboard in Chromium: every page and flow by accessible names, XSS, read-only, axe-core"
tests/browser/run.sh
log "Lambda smoke test: fixtures with cargo lambda, release binaries on the Lambda runtime API"
scripts/lambda-smoke.sh
