#!/usr/bin/env bash
# What a sync costs in DynamoDB (issue #16): on DynamoDB Local, a first load, an unchanged
# re-sync and a 1% change (every 100th user renamed) of a generated district, each with the
# requests and the read and write capacity units its run record carries
# (ReturnConsumedCapacity: TOTAL). In the same run, the baseline of the re-sync: a plain
# parallel Query of the same items with the AWS SDK for Rust (every shard of every type, 8 in
# flight, the same projection; cli/rosterctl/benches/query_baseline.rs).
#
# Prints a Markdown table: time, requests, units, and on-demand dollars at $0.625 per
# million write units and $0.125 per million read units (us-east-1 standard table price,
# December 2026), measured and scaled linearly to 1M students.
#
# Usage: infra/bench/dynamodb.sh [STUDENTS]   (default 10000; data under target/bench-data/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
STUDENTS="${1:-10000}"
DATA="$ROOT/target/bench-data/dynamodb-$STUDENTS"
BIN="$ROOT/target/release/rosterctl"
PY="$(infra/local/python.sh)"
cargo build --release --locked -p rosterctl >&2
cargo bench --locked -p rosterctl --bench query_baseline --no-run >&2
BASELINE="$(ls -t "$ROOT"/target/release/deps/query_baseline-* | grep -v '\.d$' | head -1)"
mkdir -p "$DATA"
if [ ! -f "$DATA/district/users.csv" ]; then
  "$BIN" generate --students "$STUDENTS" --seed 1 --out "$DATA/district" --json >/dev/null
fi
# The 1% change: every 100th user's givenName (fields are quoted; the 9th column).
rm -rf "$DATA/changed" && cp -r "$DATA/district" "$DATA/changed"
"$PY" - "$DATA/changed/users.csv" <<'PY'
import csv, sys
path = sys.argv[1]
rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
head, body = rows[0], rows[1:]
col = head.index("givenName")
for i, row in enumerate(body):
    if i % 100 == 0:
        row[col] = row[col] + "x"
with open(path, "w", newline="", encoding="utf-8") as f:
    csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
PY
# The change must be newer than the delivery it replaces.
touch "$DATA/changed"/*.csv

PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
ENDPOINT="$(infra/local/dynamodb.sh start "$PORT" | tail -1)"
trap 'infra/local/dynamodb.sh stop >/dev/null 2>&1 || true' EXIT
export AWS_ENDPOINT_URL_DYNAMODB="$ENDPOINT" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
TABLE="bench-$STUDENTS"

# sync FOLDER -> "seconds requests read_units write_units items_written"
sync() {
  local start end
  start="$(date +%s.%N)"
  "$BIN" sync "$1" --tenant bench --dynamodb "$TABLE" --create-table --runs-dir "$DATA/runs" --json >"$DATA/run.json" 2>"$DATA/run.err"
  end="$(date +%s.%N)"
  "$PY" - "$start" "$end" "$DATA/run.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[3]))
u = run.get("store_usage") or {}
print(f"{float(sys.argv[2]) - float(sys.argv[1]):.2f} {u.get('requests', 0)} {u.get('read_units', 0)} {u.get('write_units', 0)} {run['items_written']}")
PY
}

read -r FIRST_S FIRST_REQ FIRST_RU FIRST_WU FIRST_W < <(sync "$DATA/district")
read -r AGAIN_S AGAIN_REQ AGAIN_RU AGAIN_WU AGAIN_W < <(sync "$DATA/district")
read -r CHANGE_S CHANGE_REQ CHANGE_RU CHANGE_WU CHANGE_W < <(sync "$DATA/changed")

# The baseline: the same items, read by a plain parallel Query (cli/rosterctl/benches/query_baseline.rs).
BASE="$(ROSTER_BENCH_TABLE="$TABLE" "$BASELINE")"
read -r BASE_S BASE_ITEMS <<<"$BASE"

"$PY" - "$STUDENTS" "$FIRST_S" "$FIRST_REQ" "$FIRST_RU" "$FIRST_WU" "$FIRST_W" \
  "$AGAIN_S" "$AGAIN_REQ" "$AGAIN_RU" "$AGAIN_WU" "$AGAIN_W" \
  "$CHANGE_S" "$CHANGE_REQ" "$CHANGE_RU" "$CHANGE_WU" "$CHANGE_W" "$BASE_S" "$BASE_ITEMS" <<'PY'
import sys
a = sys.argv[1:]
students = int(a[0])
rows = [("first load", a[1:6]), ("unchanged re-sync", a[6:11]), ("1% of users changed", a[11:16])]
scale = 1_000_000 / students
dollars = lambda ru, wu: ru * 0.125 / 1e6 + wu * 0.625 / 1e6
print(f"{students:,} students on DynamoDB Local:\n")
print("| run | time | items written | requests | read units | write units | on-demand $ | at 1M students: units (R / W), $ |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, (s, req, ru, wu, w) in rows:
    ru, wu = float(ru), float(wu)
    print(f"| {name} | {float(s):.1f} s | {int(w):,} | {int(req):,} | {ru:,.0f} | {wu:,.0f} | {dollars(ru, wu):.4f} | {ru*scale:,.0f} / {wu*scale:,.0f}, {dollars(ru*scale, wu*scale):.2f} |")
base_s, base_items = float(a[16]), int(a[17])
again = float(a[6])
print(f"\nBaseline: a plain parallel Query (AWS SDK for Rust, 8 in flight) of the same {base_items:,} items: {base_s:.2f} s; the unchanged re-sync took {again:.2f} s ({again / base_s:.2f}x the baseline).")
PY
