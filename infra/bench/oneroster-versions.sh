#!/usr/bin/env bash
# The same district in OneRoster 1.2 against 1.1: `rosterctl validate` and a first-load
# `rosterctl sync` (a fresh SQLite file each run), in alternating pairs of whole-process runs
# (which version goes first alternates from pair to pair). Prints each version's median wall
# time and peak RSS, the median (and range) of the pairs' ratios 1.2/1.1, and each version's
# speed per byte and per row (a 1.2 package of the same district holds more of both).
#
# Usage: infra/bench/oneroster-versions.sh [PAIRS] [STUDENTS]   (default 7 pairs, 100000)
# ROSTERCTL overrides the binary (default: target/release/rosterctl; build it with
# `cargo build --release -p rosterctl`). The two packages are generated once, with seed 1,
# under target/bench-data/versions-STUDENTS/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PAIRS="${1:-7}"; STUDENTS="${2:-100000}"
BIN="${ROSTERCTL:-$ROOT/target/release/rosterctl}"
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release -p rosterctl" >&2; exit 2; }
DATA="$ROOT/target/bench-data/versions-$STUDENTS"
for v in 1.1 1.2; do
  dir="$DATA/v${v/./p}"
  [ -f "$dir/users.csv" ] || "$BIN" generate --students "$STUDENTS" --seed 1 \
    --oneroster "$v" --out "$dir" >/dev/null
done
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
# run VERSION(v1p1|v1p2) validate|sync -> appends "seconds peak_kib" to $WORK/VERSION.STEP
run() {
  local pkg="$DATA/$1"
  if [ "$2" = validate ]; then
    /usr/bin/time -o "$WORK/time" -f '%e %M' "$BIN" validate "$pkg" --json >/dev/null 2>&1 || true
  else
    rm -rf "$WORK/store"; mkdir -p "$WORK/store"; sync
    /usr/bin/time -o "$WORK/time" -f '%e %M' "$BIN" sync "$pkg" --tenant bench \
      --db "$WORK/store/roster.db" --runs-dir "$WORK/store/runs" --json >/dev/null 2>&1
  fi
  cat "$WORK/time" >> "$WORK/$1.$2"
}
for step in validate sync; do
  for pair in $(seq "$PAIRS"); do
    if [ $((pair % 2)) -eq 1 ]; then run v1p2 "$step"; run v1p1 "$step"
    else run v1p1 "$step"; run v1p2 "$step"; fi
  done
done
python3 - "$WORK" "$PAIRS" "$STUDENTS" "$DATA" <<'PY'
import glob, os, statistics as st, sys
work, pairs, students, data = sys.argv[1:5]
def rows(name):
    return [list(map(float, l.split()[-2:])) for l in open(f"{work}/{name}") if l.strip()]
def package(version):
    """(MB of CSV, data rows) of a package's data files (not its manifest)."""
    files = [f for f in glob.glob(f"{data}/{version}/*.csv") if not f.endswith("/manifest.csv")]
    size = sum(os.path.getsize(f) for f in files) / 1e6
    lines = sum(sum(1 for _ in open(f, "rb")) - 1 for f in files)
    return size, lines
(mb2, rows2), (mb1, rows1) = package("v1p2"), package("v1p1")
for step in ["validate", "sync"]:
    new, old = rows(f"v1p2.{step}"), rows(f"v1p1.{step}")
    ratios = sorted(a[0] / b[0] for a, b in zip(new, old))
    label = "validate" if step == "validate" else "first-load sync"
    print(f"{label} ({students} students): 1.2 {st.median(r[0] for r in new):.2f} s, "
          f"{st.median(r[1] for r in new)/1024:.0f} MiB; "
          f"1.1 {st.median(r[0] for r in old):.2f} s, {st.median(r[1] for r in old)/1024:.0f} MiB; "
          f"1.2/1.1 median {st.median(ratios):.3f} ({ratios[0]:.3f}-{ratios[-1]:.3f}, {len(ratios)} pairs)")
    t2, t1 = st.median(r[0] for r in new), st.median(r[0] for r in old)
    print(f"  per byte: 1.2 {mb2 / t2:.0f} MB/s of {mb2:.1f} MB, 1.1 {mb1 / t1:.0f} MB/s of {mb1:.1f} MB "
          f"(1.2 per byte takes {(t2 / mb2) / (t1 / mb1):.3f}x); per row: 1.2 {rows2 / t2 / 1e6:.2f}M/s of {rows2:,}, "
          f"1.1 {rows1 / t1 / 1e6:.2f}M/s of {rows1:,} (1.2 per row takes {(t2 / rows2) / (t1 / rows1):.3f}x)")
PY
