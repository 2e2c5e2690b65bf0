#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: formatting, lints, and every test.
#
# It installs what the tests need, idempotently, under .tools/ (nothing global),
# starts any local emulators on loopback ports, and stops them on exit. Today the
# suite needs only the Rust toolchain and the public OneRoster samples in
# ../shared/samples (set ONEROSTER_SAMPLES to use another copy); emulators for
# DynamoDB, S3/Secrets Manager and the OIDC provider join as the sync engine and
# the Lambdas land.
#
# Usage: infra/test.sh            (from anywhere; CI runs it via .ci/run)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\n==> %s\n' "$*"; }

# Emulators started below register their PIDs here; they are stopped on exit.
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

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

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
cargo test --workspace --locked

log "all tests passed"
