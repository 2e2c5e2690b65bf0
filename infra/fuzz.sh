#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, cargo-fuzz on nightly) for SECONDS each, one after another,
# from the committed seed corpus (fuzz/seeds/<target>); exits non-zero on any finding (a crash,
# a failed assertion, a timeout, memory over the limit). See docs/fuzzing.md.
#
# Usage: infra/fuzz.sh [SECONDS]      (default 30 per target)
#        infra/fuzz.sh --minimise     rewrite fuzz/seeds/* to a minimal set with the same coverage
# Env:   FUZZ_TARGETS="rows sso_query"  run only these targets
#        FUZZ_RUNS=10000000  stop each target at that many executions or after SECONDS,
#                            whichever comes first (unset: SECONDS alone)
#
# It installs what it needs, idempotently: the nightly toolchain (rustup) and cargo-fuzz
# (under .tools/cargo-fuzz). Builds go to target/fuzz; the corpus grown by a run, the
# findings (artifacts) and each target's log to target/fuzz/{corpus,artifacts,logs}/<target>.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_FUZZ_VERSION=0.13.2
MODE=run
SECONDS_PER_TARGET=30
case "${1:-}" in
  --minimise) MODE=minimise ;;
  "") ;;
  *[!0-9]*) echo "usage: infra/fuzz.sh [SECONDS] | --minimise" >&2; exit 2 ;;
  *) SECONDS_PER_TARGET="$1" ;;
esac

# libFuzzer reads -runs as a 32-bit int.
[[ -z "${FUZZ_RUNS:-}" || ( "$FUZZ_RUNS" =~ ^[1-9][0-9]{0,9}$ && "$FUZZ_RUNS" -le 2147483647 ) ]] ||
  { echo "FUZZ_RUNS is a number of executions from 1 to 2147483647, not '$FUZZ_RUNS'" >&2; exit 2; }
LIMIT="$SECONDS_PER_TARGET s${FUZZ_RUNS:+ or $FUZZ_RUNS executions}"

log() { printf '\n==> [%4d s] %s\n' "$SECONDS" "$*"; }

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
TOOLS="$ROOT/.tools/cargo-fuzz"
if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION under .tools/cargo-fuzz"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"

# Release with debug assertions and overflow checks; no sanitizer (the code under test is
# safe Rust: a sanitizer would halve the executions and find nothing the checks do not).
BUILD=(-O -a -s none --codegen-units 16 --target-dir "$ROOT/target/fuzz")
TARGETS="${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}"
OUT="$ROOT/target/fuzz"

log "building the fuzz targets (nightly)"
cargo +nightly fuzz build "${BUILD[@]}"

if [ "$MODE" = minimise ]; then
  for t in $TARGETS; do
    log "minimising fuzz/seeds/$t"
    cargo +nightly fuzz cmin "${BUILD[@]}" "$t" "fuzz/seeds/$t"
  done
  exit 0
fi

failed=()
summary=()
for t in $TARGETS; do
  log "fuzzing $t for $LIMIT"
  mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t" "$OUT/logs"
  status=0
  # One process, one core; -rss_limit_mb is the memory promise (a finding past it).
  cargo +nightly fuzz run "${BUILD[@]}" "$t" "$OUT/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -runs="${FUZZ_RUNS:--1}" -rss_limit_mb=1024 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" \
    >"$OUT/logs/$t.log" 2>&1 || status=$?
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/logs/$t.log" | grep -o '[0-9]*$' || echo '?')"
  cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$OUT/logs/$t.log" | tail -1 || echo '?')"
  summary+=("$(printf '%-16s %12s executions  %-22s %s' "$t" "$execs" "$cov" \
    "$([ "$status" = 0 ] && echo ok || echo "FINDING (exit $status)")")")
  if [ "$status" != 0 ]; then
    failed+=("$t")
    tail -60 "$OUT/logs/$t.log" >&2
  fi
done

log "summary ($LIMIT per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (inputs in $OUT/artifacts/<target>/; reproduce with" >&2
  echo "  cargo +nightly fuzz run ${BUILD[*]} <target> <input>)" >&2
  exit 1
fi
