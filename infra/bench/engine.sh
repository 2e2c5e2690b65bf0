#!/usr/bin/env bash
# The sync engine against a plain script, same district, same machine, same run (issue #16).
#
# The plain script is what a team would write in an afternoon: csv.DictReader over every
# rostering file -> json.dumps(row, sort_keys=True) -> INSERT OR REPLACE in one SQLite table,
# one transaction; the re-sync compares each row's text with the stored one and writes only
# what differs. No validation, one table, no indexes. It is written here, so the ratio is
# re-measured, not remembered.
#
# Each command is one process timed by /usr/bin/time (wall time, peak RSS). Printed: a
# Markdown table with both programs' times, peak RSS, and the ratios (script / rosterctl).
#
# Usage: infra/bench/engine.sh [STUDENTS]   (default 100000; data under target/bench-data/)
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

cat > "$DATA/plain.py" <<'PY'
import csv, json, os, sqlite3, sys
folder, db = sys.argv[1], sys.argv[2]
FILES = ["orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics"]
con = sqlite3.connect(db)
con.execute("CREATE TABLE IF NOT EXISTS records (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id)) WITHOUT ROWID")
stored = {}
for kind, rid, body in con.execute("SELECT kind, id, body FROM records"):
    stored[(kind, rid)] = body
written = 0
with con:
    for kind in FILES:
        path = os.path.join(folder, kind + ".csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                body = json.dumps(row, sort_keys=True)
                key = (kind, row["sourcedId"])
                if stored.get(key) != body:
                    con.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", (kind, key[1], body))
                    written += 1
print(written)
PY

# time CMD... -> "seconds peak_kib"
measure() {
  # Each command starts with nothing of the previous one still being written
  # back to disk (the databases are hundreds of MB; writeback would land on the next).
  sync
  /usr/bin/time -o "$DATA/time.txt" -f '%e %M' "$@" >/dev/null 2>"$DATA/stderr.txt" || true
  tail -1 "$DATA/time.txt"
}

# The databases are gigabytes at 1M students: made new for each invocation and
# removed when it ends (the generated district is kept for the next one).
clean() { rm -f "$DATA"/plain.db* "$DATA"/roster.db*; rm -rf "$DATA/runs"; }
clean
trap clean EXIT
read -r PLAIN_FIRST PLAIN_FIRST_KIB < <(measure python3 "$DATA/plain.py" "$DATA/district" "$DATA/plain.db")
read -r PLAIN_AGAIN PLAIN_AGAIN_KIB < <(measure python3 "$DATA/plain.py" "$DATA/district" "$DATA/plain.db")
read -r OURS_FIRST OURS_FIRST_KIB < <(measure "$BIN" sync "$DATA/district" --tenant bench --db "$DATA/roster.db" --json)
read -r OURS_AGAIN OURS_AGAIN_KIB < <(measure "$BIN" sync "$DATA/district" --tenant bench --db "$DATA/roster.db" --json)
WRITTEN_AGAIN="$("$BIN" runs list --tenant bench --db "$DATA/roster.db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["items_written"])')"

python3 - "$STUDENTS" "$PLAIN_FIRST" "$PLAIN_FIRST_KIB" "$PLAIN_AGAIN" "$PLAIN_AGAIN_KIB" \
  "$OURS_FIRST" "$OURS_FIRST_KIB" "$OURS_AGAIN" "$OURS_AGAIN_KIB" "$WRITTEN_AGAIN" <<'PY'
import sys
s, pf, pfk, pa, pak, of, ofk, oa, oak, w = sys.argv[1:]
mb = lambda k: f"{int(k) / 1024:.0f} MiB"
print(f"{int(s):,} students, {sys.platform}:\n")
print("| | plain script | rosterctl sync (SQLite) | ratio (script / rosterctl) |")
print("|---|---:|---:|---:|")
print(f"| first load | {pf} s, {mb(pfk)} | {of} s, {mb(ofk)} | {float(pf)/float(of):.2f}x |")
print(f"| unchanged re-sync | {pa} s, {mb(pak)} | {oa} s, {mb(oak)} | {float(pa)/float(oa):.2f}x |")
print(f"\nrosterctl's unchanged re-sync wrote {w} items.")
PY
