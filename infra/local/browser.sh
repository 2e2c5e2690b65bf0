#!/usr/bin/env bash
# Headless Chromium for the report-page tests: Debian's `chromium` (apt-get, when
# /usr/bin/chromium is missing) driven by npm `playwright-core` (tests/browser, from its
# lock file). Idempotent. Prints the Chromium executable.
#
#   infra/local/browser.sh install
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/browser" && pwd)"
CHROMIUM=/usr/bin/chromium

install() {
  if [ ! -x "$CHROMIUM" ]; then
    echo "installing Debian's chromium (headless browser for the report-page tests)" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >&2
  fi
  if ! { [ -f "$DIR/node_modules/.package-lock.json" ] && cmp -s "$DIR/package-lock.json" "$DIR/node_modules/.lock-installed" 2>/dev/null; }; then
    echo "installing playwright-core under $DIR/node_modules" >&2
    (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$DIR/package-lock.json" "$DIR/node_modules/.lock-installed"
  fi
  echo "$CHROMIUM"
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
