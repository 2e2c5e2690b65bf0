#!/usr/bin/env bash
# The main job, locally, with no services and no AWS account: generate a
# synthetic district (or take the package you name) and validate it as the
# csv-ingest Lambda will before syncing it.
#
# Usage: infra/run-main-job.sh [PACKAGE]   (PACKAGE: a .zip or a folder; default:
#        a generated 2,000-student district under target/demo/)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo build --release --locked -p rosterctl
ROSTERCTL="$ROOT/target/release/rosterctl"

PACKAGE="${1:-}"
if [ -z "$PACKAGE" ]; then
  PACKAGE="$ROOT/target/demo/district.zip"
  mkdir -p "$(dirname "$PACKAGE")"
  "$ROSTERCTL" generate --students 2000 --seed 1 --out "$PACKAGE"
fi

"$ROSTERCTL" validate "$PACKAGE"
