#!/usr/bin/env bash
# A school year's rollover of a large district on the embedded store (SQLite), timed.
#
# Generates one district's first school year (2026-2027) and the next (`--rollovers 1`:
# new sessions, classes and enrollments, ~8% of students replaced) with the release
# rosterctl, syncs the first year into a fresh SQLite file, then the next year, then the
# next year again (unchanged). Each sync is one `rosterctl sync --json` process timed by
# /usr/bin/time (wall time, peak RSS); its counts come from the run record.
#
# Usage: infra/bench/rollover.sh [STUDENTS]   (default 100000; data under target/bench-data/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STUDENTS="${1:-100000}"
DATA="$ROOT/target/bench-data/rollover-$STUDENTS"
BIN="$ROOT/target/release/rosterctl"
cargo build --release --locked -p rosterctl >&2
mkdir -p "$DATA"
for year in 0 1; do
  if [ ! -f "$DATA/year-$year/users.csv" ]; then
    "$BIN" generate --students "$STUDENTS" --seed 1 --rollovers "$year" --out "$DATA/year-$year" --json >/dev/null
  fi
done
DB="$DATA/roster.db"
rm -f "$DB" "$DB"-wal "$DB"-shm "$DB"-journal
# Removed when the benchmark ends: the databases are large, the inputs are kept.
trap 'rm -f "$DB" "$DB"-wal "$DB"-shm "$DB"-journal; rm -rf "$RUNS"' EXIT
RUNS="$DATA/runs"
rm -rf "$RUNS"

sync() { # label, folder, generated-at
  local out time
  out="$DATA/$1.json"
  time="$DATA/$1.time"
  /usr/bin/time -f '%e %M' -o "$time" \
    "$BIN" sync "$2" --tenant bench --db "$DB" --runs-dir "$RUNS" --generated-at "$3" --json >"$out" || true
  python3 - "$1" "$out" "$time" <<'PY'
import json, sys
label, out, time = sys.argv[1:]
run = json.load(open(out))
wall, rss = open(time).read().split()
counts = run["counts"]
total = lambda key: sum(c.get(key, 0) for c in counts.values())
print(f"| {label} | {run['status']} | {float(wall):.1f} s | {run['items_written']:,} | "
      f"{total('inserted'):,} | {total('updated'):,} | {total('archived'):,} | {total('ended'):,} | "
      f"{int(rss) / 1024:.0f} MiB |")
if run.get("rollover"):
    print(f"\n{run['rollover']}\n", file=sys.stderr)
PY
}

echo "| run | status | wall time | items written | inserted | updated | archived (absent) | ended | peak RSS |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
sync "first year (2026-27), first load" "$DATA/year-0" 2026-09-01T06:00:00Z
sync "next year (2027-28): the rollover" "$DATA/year-1" 2027-08-20T06:00:00Z
sync "next year again (unchanged)" "$DATA/year-1" 2027-08-21T06:00:00Z
