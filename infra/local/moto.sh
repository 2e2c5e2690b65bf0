#!/usr/bin/env bash
# moto server (PyPI `moto[server]`): S3, SQS, SNS, Secrets Manager, Scheduler and Transfer Family
# APIs on a loopback port, in memory. Installed in the project's venv (infra/local/python.sh).
#
#   infra/local/moto.sh install        install (idempotent)
#   infra/local/moto.sh start [PORT]   start in the background (default 8766); prints the endpoint
#   infra/local/moto.sh stop           stop the one started here
set -euo pipefail

# shellcheck source=infra/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
PIDFILE="$TOOLS/moto.pid"

install() {
  "$ROOT/infra/local/python.sh" >/dev/null
}

start() {
  local port="${1:-8766}"
  install
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    cat "$TOOLS/moto.endpoint"
    return 0
  fi
  # moto_server.py is moto's own server with one fix to what it sends (see the file).
  "$VENV/bin/python" "$ROOT/infra/local/moto_server.py" -H 127.0.0.1 -p "$port" >"$TOOLS/moto.log" 2>&1 &
  echo $! >"$PIDFILE"
  wait_for_port "moto" "$port"
  echo "http://127.0.0.1:$port" | tee "$TOOLS/moto.endpoint"
}

stop() {
  stop_pidfile "$PIDFILE"
}

case "${1:-}" in
  install) install ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  *) echo "usage: $0 install|start [PORT]|stop" >&2; exit 2 ;;
esac
