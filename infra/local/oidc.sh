#!/usr/bin/env bash
# The ClassLink look-alike OpenID provider (npm `oidc-provider`, see
# tests/servers/classlink/classlink-lookalike.mjs): installs its packages from the
# lock file, idempotently, and runs it for local development.
#
#   infra/local/oidc.sh install                                   install (idempotent)
#   infra/local/oidc.sh run PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI   run in the foreground
#
# The SSO tests start their own provider per test; they only need `install`.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/servers/classlink" && pwd)"

install() {
  command -v node >/dev/null || { echo "Node.js 20+ is required for the OpenID provider" >&2; exit 2; }
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt 20 ]; then
    echo "Node.js 20+ is required for the OpenID provider (found $(node --version))" >&2
    exit 2
  fi
  if [ -f "$DIR/node_modules/.package-lock.json" ] && cmp -s "$DIR/package-lock.json" "$DIR/node_modules/.lock-installed" 2>/dev/null; then
    return 0
  fi
  echo "installing the OpenID provider's packages under $DIR/node_modules" >&2
  (cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$DIR/package-lock.json" "$DIR/node_modules/.lock-installed"
}

case "${1:-}" in
  install) install ;;
  run) shift; install; cd "$DIR" && exec node classlink-lookalike.mjs "$@" ;;
  *) echo "usage: $0 install | run PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI" >&2; exit 2 ;;
esac
