#!/usr/bin/env bash
# A OneRoster 1.2 delta `roles.csv` against a stored district: the 1.2 district of
# `rosterctl generate --oneroster 1.2 --seed 1` loaded once into a fresh SQLite file, then a
# package of only `manifest.csv` and a delta `roles.csv` giving ROLES students a secondary
# `aide` role synced RUNS times, each time into a copy of the loaded file (the sync reads those
# users' records before it validates, then writes them), and the same delta again (nothing
# to write). Prints each run's wall time and peak RSS, and their medians.
#
# Usage: infra/bench/delta-roles.sh [RUNS] [ROLES] [STUDENTS]   (default 5, 1000, 100000)
# ROSTERCTL overrides the binary (default: target/release/rosterctl).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS="${1:-5}"; ROLES="${2:-1000}"; STUDENTS="${3:-100000}"
BIN="${ROSTERCTL:-$ROOT/target/release/rosterctl}"
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p rosterctl" >&2; exit 2; }
DATA="$ROOT/target/bench-data/versions-$STUDENTS/v1p2"
[ -f "$DATA/roles.csv" ] || "$BIN" generate --students "$STUDENTS" --seed 1 --oneroster 1.2 \
  --out "$DATA" >/dev/null
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/delta"
python3 - "$DATA/roles.csv" "$WORK/delta" "$ROLES" <<'PY'
import csv, sys
source, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = csv.reader(open(source, newline=""))
header = next(rows)
students = [r for r in rows if r[3].startswith("stu-")][:n]
with open(f"{out}/roles.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    for r in students:
        w.writerow(["aide-" + r[0], "active", "2026-09-01T12:00:00.000Z", r[3], "secondary",
                    "aide", "", "", r[8], ""])
with open(f"{out}/manifest.csv", "w") as f:
    f.write("propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,absent\n"
            "file.academicSessions,absent\nfile.courses,absent\nfile.classes,absent\n"
            "file.users,absent\nfile.enrollments,absent\nfile.demographics,absent\nfile.roles,delta\n")
PY
"$BIN" sync "$DATA" --tenant bench --db "$WORK/loaded.db" --runs-dir "$WORK/runs" --json >/dev/null 2>&1
# timed STEP: one timed sync of the delta into $WORK/run.db, appending "seconds peak_kib written".
timed() {
  /usr/bin/time -o "$WORK/time" -f '%e %M' "$BIN" sync "$WORK/delta" --tenant bench \
    --db "$WORK/run.db" --runs-dir "$WORK/runs" --json > "$WORK/out" 2>/dev/null
  written=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['items_written'])" "$WORK/out")
  echo "$(cat "$WORK/time") $written" >> "$WORK/$1.times"
}
for _ in $(seq "$RUNS"); do
  cp "$WORK/loaded.db" "$WORK/run.db"; sync
  timed delta; timed again
done
python3 - "$WORK" "$ROLES" "$STUDENTS" <<'PY'
import statistics as st, sys
work, roles, students = sys.argv[1:4]
for step, label in [("delta", "delta of roles"), ("again", "the same delta again")]:
    runs = [list(map(float, l.split())) for l in open(f"{work}/{step}.times") if l.strip()]
    print(f"{label} ({roles} roles, {students} students): median {st.median(r[0] for r in runs):.2f} s "
          f"({min(r[0] for r in runs):.2f}-{max(r[0] for r in runs):.2f}), peak "
          f"{st.median(r[1] for r in runs)/1024:.0f} MiB, {int(runs[0][2])} written, {len(runs)} runs")
PY
