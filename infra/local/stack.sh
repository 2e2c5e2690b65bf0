#!/usr/bin/env bash
# The whole bridge's surroundings on this machine, for local development:
# DynamoDB Local, moto (S3, SQS, Secrets Manager, Scheduler), the table and the
# inbound bucket created from template.yaml's own definitions, and the ClassLink
# look-alike OpenID provider. Prints the environment to export; the functions
# then run as they would in Lambda with `cargo lambda watch`, or as the
# day-in-the-life test runs them (tests/e2e), and rosterctl works against it with
# `--dynamodb roster-local`.
#
#   infra/local/stack.sh up     start everything (idempotent); prints `export ...` lines
#   infra/local/stack.sh down   stop everything started here
#
# Ports: DynamoDB Local 8000, moto 8766, OpenID provider 9400 (override with
# DYNAMODB_PORT, MOTO_PORT, OIDC_PORT).
set -euo pipefail

# shellcheck source=infra/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
OIDC_PIDFILE="$TOOLS/oidc.pid"
TABLE="${ROSTER_LOCAL_TABLE:-roster-local}"
BUCKET="${ROSTER_LOCAL_BUCKET:-roster-local-inbound}"
SSO_REDIRECT="${SSO_REDIRECT_URL:-http://127.0.0.1:8787/sso/classlink/callback}"

up() {
  local ddb moto oidc_port="${OIDC_PORT:-9400}"
  ddb="$("$ROOT/infra/local/dynamodb.sh" start "${DYNAMODB_PORT:-8000}" | tail -1)"
  moto="$("$ROOT/infra/local/moto.sh" start "${MOTO_PORT:-8766}" | tail -1)"
  # The project's venv has cfn-lint (which reads the template) and boto3.
  "$ROOT/infra/local/python.sh" >/dev/null
  (cd "$ROOT" && "$TOOLS/venv/bin/python" infra/local/resources.py \
    --dynamodb "$ddb" --moto "$moto" --table "$TABLE" --bucket "$BUCKET") >&2
  "$ROOT/infra/local/oidc.sh" install
  if ! { [ -f "$OIDC_PIDFILE" ] && kill -0 "$(cat "$OIDC_PIDFILE")" 2>/dev/null; }; then
    (cd "$ROOT/tests/servers/classlink" && node classlink-lookalike.mjs "$oidc_port" local-client local-secret "$SSO_REDIRECT" \
      >"$TOOLS/oidc.log" 2>&1 &
      echo $! >"$OIDC_PIDFILE")
    wait_for_port "OpenID provider" "$oidc_port"
  fi
  cat <<ENV
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_ENDPOINT_URL=$moto AWS_ENDPOINT_URL_DYNAMODB=$ddb
export ROSTER_TABLE=$TABLE INBOUND_BUCKET=$BUCKET
export CLASSLINK_ISSUER=http://127.0.0.1:$oidc_port CLASSLINK_USERINFO_URL=http://127.0.0.1:$oidc_port/v2/my/info
export CLASSLINK_CLIENT_ID=local-client SSO_REDIRECT_URL=$SSO_REDIRECT
# then: store the SSO secrets (aws --endpoint-url \$AWS_ENDPOINT_URL secretsmanager create-secret ...),
# onboard with rosterctl tenants add ... --dynamodb $TABLE, and see docs/sso.md for the SSO variables.
ENV
}

down() {
  stop_pidfile "$OIDC_PIDFILE"
  "$ROOT/infra/local/moto.sh" stop || true
  "$ROOT/infra/local/dynamodb.sh" stop || true
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
