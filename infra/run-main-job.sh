#!/usr/bin/env bash
# The main job, locally, with no services and no AWS account: sync a OneRoster
# package into the embedded SQLite store, as the Lambdas do into DynamoDB.
#
# Usage: infra/run-main-job.sh [PACKAGE [TENANT]]
#   PACKAGE  a .zip or a folder holding manifest.csv (default: a generated
#            2,000-student district, target/demo/district.zip)
#   TENANT   tenant id (default: demo)
# The store is target/demo/roster.db; run files go to target/demo/runs/.
# Run it twice: the second sync writes nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build --release --locked -p rosterctl
ROSTERCTL="$ROOT/target/release/rosterctl"
DEMO="$ROOT/target/demo"
mkdir -p "$DEMO"

PACKAGE="${1:-}"
TENANT="${2:-demo}"
if [ -z "$PACKAGE" ]; then
  PACKAGE="$DEMO/district.zip"
  [ -f "$PACKAGE" ] || "$ROSTERCTL" generate --students 2000 --seed 1 --out "$PACKAGE"
fi

set +e
"$ROSTERCTL" sync "$PACKAGE" --tenant "$TENANT" --db "$DEMO/roster.db"
status=$?
set -e
"$ROSTERCTL" tenants status --tenant "$TENANT" --db "$DEMO/roster.db"
exit $status
