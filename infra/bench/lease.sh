#!/usr/bin/env bash
# How long a killed sync blocks its tenant (issue #17): a first load of the district is killed
# with SIGKILL while it holds the lease, then the same sync is started again at once with
# `--wait 120`, twice:
#   1. on this machine: the dead run's process is gone, so the lease is taken over at once;
#   2. as from another machine (a new UTS namespace with another host name, as a Lambda run
#      is to the CLI): the dead process cannot be checked, so the lease must expire (60 s).
# Printed: a Markdown table of the second sync's wall time and the dead run's final message.
#
# Usage: infra/bench/lease.sh [STUDENTS]   (default 100000; needs root for `unshare -u`)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STUDENTS="${1:-100000}"
DATA="$ROOT/target/bench-data/engine-$STUDENTS"
BIN="$ROOT/target/release/rosterctl"
cargo build --release --locked -p rosterctl >&2
mkdir -p "$DATA"
if [ ! -f "$DATA/district/users.csv" ]; then
  "$BIN" generate --students "$STUDENTS" --seed 1 --out "$DATA/district" --json >/dev/null
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Starts a sync, waits until its run holds the lease, kills it. Prints the dead run's id.
start_and_kill() {
  local db="$1"
  "$BIN" sync --db "$db" --tenant d1 "$DATA/district" --json >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do
    if python3 - "$db" <<'PY' 2>/dev/null; then break; fi
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=0.1)
sys.exit(0 if con.execute("SELECT COUNT(*) FROM leases").fetchone()[0] else 1)
PY
    sleep 0.05
  done
  sleep 1
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  python3 - "$db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT owner FROM leases").fetchone()[0])
PY
}

# Runs a command under another host name (root: a new UTS namespace).
other_machine() {
  unshare -u sh -c 'hostname lease-bench-other && exec "$@"' sh "$@"
}

measure() {
  local label="$1" prefix="$2" db="$WORK/$3.db"
  local dead
  dead="$(start_and_kill "$db")"
  local start end
  start=$(date +%s.%N)
  $prefix "$BIN" sync --db "$db" --tenant d1 --wait 120 "$DATA/district" --json > "$WORK/$3.json"
  end=$(date +%s.%N)
  local status message
  status=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$WORK/$3.json")
  message=$("$BIN" runs show "$dead" --db "$db" --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("run", r).get("status"), "-", r.get("run", r).get("message"))')
  printf '| %s | %.1f s | %s | %s |\n' "$label" "$(echo "$end - $start" | bc)" "$status" "$message"
}

echo "| the next sync, started at once | wall time | its status | the killed run afterwards |"
echo "|---|---:|---|---|"
measure "on the same machine" "" same
measure "from another machine" other_machine other
