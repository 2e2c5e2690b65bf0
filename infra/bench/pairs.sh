#!/usr/bin/env bash
# Two rosterctl builds against each other, in alternating pairs of whole-process runs
# (A B A B ...): the 100k first load into a fresh SQLite file and the unchanged re-sync.
# Prints each build's median wall time and peak RSS, and the median of the pairs' ratios (A/B).
#
# Usage: infra/bench/pairs.sh ROSTERCTL_A ROSTERCTL_B [PAIRS]   (default 5 pairs; the district
# is the one infra/bench/engine.sh 100000 generates under target/bench-data/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
A="$1"; B="$2"; PAIRS="${3:-5}"
DISTRICT="$ROOT/target/bench-data/engine-100000/district"
[ -f "$DISTRICT/users.csv" ] || { echo "run infra/bench/engine.sh 100000 first" >&2; exit 2; }
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
# run BIN TAG FRESH -> "seconds peak_kib"
run() {
  if [ "$3" = fresh ]; then rm -rf "$WORK/$2"; fi
  mkdir -p "$WORK/$2"; sync
  /usr/bin/time -o "$WORK/time" -f '%e %M' "$1" sync "$DISTRICT" --tenant bench \
    --db "$WORK/$2/roster.db" --runs-dir "$WORK/$2/runs" --json >/dev/null 2>&1
  cat "$WORK/time"
}
: > "$WORK/first"; : > "$WORK/again"
for _ in $(seq "$PAIRS"); do
  echo "$(run "$A" a fresh) $(run "$B" b fresh)" >> "$WORK/first"
  echo "$(run "$A" a again) $(run "$B" b again)" >> "$WORK/again"
done
python3 - "$WORK/first" "$WORK/again" <<'PY'
import statistics as st, sys
for name, path in zip(["first load", "unchanged re-sync"], sys.argv[1:]):
    rows = [list(map(float, l.split())) for l in open(path) if l.strip()]
    a, b = [r[0] for r in rows], [r[2] for r in rows]
    ratios = sorted(x / y for x, y in zip(a, b))
    print(f"{name}: A {st.median(a):.2f} s, {st.median(r[1] for r in rows)/1024:.0f} MiB; "
          f"B {st.median(b):.2f} s, {st.median(r[3] for r in rows)/1024:.0f} MiB; "
          f"A/B median {st.median(ratios):.3f} ({ratios[0]:.3f}-{ratios[-1]:.3f}, {len(rows)} pairs)")
PY
