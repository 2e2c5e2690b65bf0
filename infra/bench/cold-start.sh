#!/usr/bin/env bash
# Lambda cold starts, measured (issue #38): each function's release binary (csv-ingest,
# oneroster-pull, sso-callback) started RUNS times under the Lambda Runtime API emulator of
# tests/support, against moto and DynamoDB Local; for each start, the time from spawning the
# process to its first `GET /invocation/next` (init done) and to the answer of its first
# invocation (served). The functions start in turn, after one start of each not counted.
# The measuring program is tests/support/src/bin/cold_start.rs (a debug build: it only waits).
#
# Prints a Markdown table: binary size, init and first invocation served, median and p90.
#
# Usage: infra/bench/cold-start.sh [RUNS]   (default 20). The emulators: ROSTER_MOTO_ENDPOINT
# and ROSTER_DYNAMODB_ENDPOINT if set, else started here (infra/local/*.sh) and stopped after.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
RUNS="${1:-20}"
cargo build --release --locked -p csv-ingest -p oneroster-pull -p sso-callback >&2
cargo build --locked -p testkit --bin cold-start >&2

if [ -z "${ROSTER_MOTO_ENDPOINT:-}" ] || [ -z "${ROSTER_DYNAMODB_ENDPOINT:-}" ]; then
  PY="$(infra/local/python.sh)"
  free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  trap 'infra/local/dynamodb.sh stop >/dev/null 2>&1 || true; infra/local/moto.sh stop >/dev/null 2>&1 || true' EXIT
  ROSTER_DYNAMODB_ENDPOINT="$(infra/local/dynamodb.sh start "$(free_port)" | tail -1)"
  ROSTER_MOTO_ENDPOINT="$(infra/local/moto.sh start "$(free_port)" | tail -1)"
  export ROSTER_DYNAMODB_ENDPOINT ROSTER_MOTO_ENDPOINT
fi

"$ROOT/target/debug/cold-start" "$ROOT/target/release" "$RUNS"
echo
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- functions shared || echo ' (with local changes)'), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
