#!/usr/bin/env bash
# Before-images and `runs revert` of a large district on the embedded store (SQLite), measured.
#
# Generates a district (release rosterctl), syncs its first load into a fresh SQLite file,
# then a changed copy ("the 1% change": 1,000 students renamed, 500 enrollments dropped,
# as in the sync benchmark), then reverts that change, then reverts the first load (held:
# it archives everything; approved). Each command is one process timed by /usr/bin/time
# (wall time, peak RSS); the size of each run's before-images file is reported.
#
# Usage: infra/bench/revert.sh [STUDENTS]   (default 100000; data under target/bench-data/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STUDENTS="${1:-100000}"
DATA="$ROOT/target/bench-data/revert-$STUDENTS"
BIN="$ROOT/target/release/rosterctl"
cargo build --release --locked -p rosterctl >&2
mkdir -p "$DATA"
if [ ! -f "$DATA/district/users.csv" ]; then
  "$BIN" generate --students "$STUDENTS" --seed 1 --out "$DATA/district" --json >/dev/null
fi
rm -rf "$DATA/changed" && cp -r "$DATA/district" "$DATA/changed"
python3 - "$DATA/changed" <<'PY'
import csv, sys, os
folder = sys.argv[1]
def rewrite(name, change):
    path = os.path.join(folder, name)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    body = change(header, body)
    with open(path, "w", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([header] + body)
def rename(header, body):
    role, given, n = header.index("role"), header.index("givenName"), 0
    for row in body:
        if row[role] == "student" and n < 1000:
            row[given] += "x"; n += 1
    return body
def drop(header, body):
    role, kept, n = header.index("role"), [], 0
    for row in body:
        if row[role] == "student" and n < 500:
            n += 1; continue
        kept.append(row)
    return kept
rewrite("users.csv", rename)
rewrite("enrollments.csv", drop)
PY
DB="$DATA/roster.db"
rm -f "$DB" "$DB"-wal "$DB"-shm "$DB"-journal
# Removed when the benchmark ends: the databases are large, the inputs are kept.
trap 'rm -f "$DB" "$DB"-wal "$DB"-shm "$DB"-journal; rm -rf "$RUNS"' EXIT
RUNS="$DATA/runs"
rm -rf "$RUNS"

timed() { # label, command...
  local label="$1"; shift
  /usr/bin/time -f '%e %M' -o "$DATA/$label.time" "$@" >"$DATA/$label.json" || true
  python3 - "$label" "$DATA/$label.json" "$DATA/$label.time" "$ROOT" <<'PY'
import json, os, sys
label, out, time, root = sys.argv[1:]
run = json.loads(open(out).read().splitlines()[0])
wall, rss = open(time).read().split("\n")[-2].split()
ref = run.get("before_ref")
size = ""
if ref:
    path = ref if os.path.isabs(ref) else os.path.join(root, ref)
    size = f"{os.path.getsize(path) / 1e6:.1f} MB" if os.path.exists(path) else "(gone)"
print(f"| {label} | {run['status']} | {float(wall):.1f} s | {run['items_written']:,} | {size} | {int(rss) // 1024} MiB |")
PY
  cat "$DATA/$label.json" | head -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])' >"$DATA/$label.id"
}
echo "| step | status | wall time | items written | before-images | peak RSS |"
echo "|---|---|---:|---:|---:|---:|"
timed first-load "$BIN" sync "$DATA/district" --tenant bench --db "$DB" --runs-dir "$RUNS" --json
timed change "$BIN" sync "$DATA/changed" --tenant bench --db "$DB" --runs-dir "$RUNS" --json
timed revert-change "$BIN" runs revert "$(cat "$DATA/change.id")" --db "$DB" --runs-dir "$RUNS" --json
timed revert-first-load "$BIN" runs revert "$(cat "$DATA/first-load.id")" --force --db "$DB" --runs-dir "$RUNS" --json
timed approve-revert "$BIN" runs approve "$(cat "$DATA/revert-first-load.id")" --db "$DB" --runs-dir "$RUNS" --json
