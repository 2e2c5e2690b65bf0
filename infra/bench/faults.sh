#!/usr/bin/env bash
# A first load with and without faults (issue #38): the generated district loaded on DynamoDB
# Local into one table directly and into another through the fault proxy of tests/support
# (`testkit::faults`: throttling 400s, 500s, half of batches returned unprocessed, answers lost
# after the write was applied, added latency), then a re-sync of the faulted table without the
# proxy, which must write 0. One process (shared/roster/benches/faults.rs, release build); both
# stores use the SDK's default retry strategy. Prints a Markdown table: time, items written,
# requests and retries of each run, and the faults injected.
#
# Usage: [BENCH_DYNAMODB_ENDPOINT=URL] infra/bench/faults.sh [STUDENTS [RATE [MAX_LATENCY_MS]]]
#        (defaults 100000, 0.02 of requests for each kind of fault, 5 ms; data under target/bench-data/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
cargo bench --locked -p roster --bench faults --no-run >&2
# Its own DynamoDB Local (a 100k load is 1.8M items), unless BENCH_DYNAMODB_ENDPOINT names one.
ENDPOINT="${BENCH_DYNAMODB_ENDPOINT:-}"
if [ -z "$ENDPOINT" ]; then
  PY="$(infra/local/python.sh)"
  PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  ENDPOINT="$(infra/local/dynamodb.sh start "$PORT" | tail -1)"
  trap 'infra/local/dynamodb.sh stop >/dev/null 2>&1 || true' EXIT
fi
ROSTER_DYNAMODB_ENDPOINT="$ENDPOINT" BENCH_STUDENTS="${1:-100000}" BENCH_FAULT_RATE="${2:-0.02}" \
  BENCH_MAX_LATENCY_MS="${3:-5}" BENCH_DATA="$ROOT/target/bench-data" \
  cargo bench --locked -p roster --bench faults
