#!/usr/bin/env bash
# The project's one Python venv, .tools/venv, with every tool in
# infra/python-tools.txt (template checks, SAM, cargo-lambda, moto, oauthlib).
# Idempotent: it installs only when the requirements file changed since the
# last successful install. Prints the venv's python.
#
#   infra/local/python.sh        install if needed; print .tools/venv/bin/python
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.tools/venv"
REQUIREMENTS="$ROOT/infra/python-tools.txt"
STAMP="$VENV/.requirements-installed"

if [ ! -x "$VENV/bin/python3" ]; then
  echo "creating the venv $VENV" >&2
  python3 -m venv "$VENV"
fi
if ! cmp -s "$REQUIREMENTS" "$STAMP" 2>/dev/null; then
  echo "installing the Python tools of infra/python-tools.txt under $VENV" >&2
  "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
  cp "$REQUIREMENTS" "$STAMP"
fi
echo "$VENV/bin/python"
