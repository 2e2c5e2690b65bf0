#!/usr/bin/env bash
# Checks template.yaml (AWS SAM), offline and without an AWS account.
#
# Its tools (cfn-lint, cfn-lint-serverless, aws-sam-cli, cargo-lambda, ziglang: zig, which
# cargo-lambda uses to cross-compile) are in the project's one venv, .tools/venv, pinned in
# infra/python-tools.txt and installed by infra/local/python.sh. Then, from the repository root:
#   1. cfn-lint with the serverless rules (.cfnlintrc.yaml also turns on informational checks)
#   2. sam validate (the SAM transform itself) and sam validate --lint
#   3. cfn-lint on the CloudFormation that the SAM transform generates (the IAM role,
#      the EventBridge rule, the EventInvokeConfig), which cfn-lint alone never sees,
#      after expanding the template's Fn::ForEach loops (AWS::LanguageExtensions)
#   4. with --build: sam build (compiles functions/csv-ingest in release mode for the
#      template's architecture, arm64 by default; many minutes on 2 cores the first time)
# Every check must be clean: any error, warning or informational finding fails the script.
#
# Usage: infra/check-template.sh [--build]
#        infra/check-template.sh --install-only   (just the venv; infra/local/stack.sh uses it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '\n==> %s\n' "$*"; }

BUILD=0
INSTALL_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --build) BUILD=1 ;;
    --install-only) INSTALL_ONLY=1 ;;
    -h | --help)
      sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $arg (usage: infra/check-template.sh [--build | --install-only])" >&2
      exit 2
      ;;
  esac
done

VENV="$ROOT/.tools/venv"
log "tools in $VENV (infra/python-tools.txt)"
infra/local/python.sh >/dev/null
if [ "$INSTALL_ONLY" = 1 ]; then
  exit 0
fi

# The venv first on PATH: `python3` is then the venv's, which is how SAM and cargo-lambda
# find zig (`python3 -m ziglang`), and `sam`, `cfn-lint`, `cargo-lambda` are its too.
export PATH="$VENV/bin:$PATH"
# SAM needs a region and, for some code paths, credentials; none is used for these
# offline checks, so dummy ones are fine. No telemetry, no update check (no network).
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-offline-check}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-offline-check}"
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0
export SAM_CLI_DISABLE_UPDATE_CHECK=1 # not every SAM version reads it; harmless

echo "cfn-lint $(cfn-lint --version | awk '{print $2}'), $(sam --version), cargo-lambda $(pip show cargo-lambda 2>/dev/null | awk '/^Version/{print $2}')"

failed=()
run_check() {
  local name="$1"
  shift
  log "$name: $*"
  if "$@"; then
    echo "ok: $name"
  else
    echo "FAILED: $name" >&2
    failed+=("$name")
  fi
}

# 1. The template as written. (The template must come before --append-rules: that
#    option takes several values and would swallow the file name.)
run_check "cfn-lint" cfn-lint template.yaml --append-rules cfn_lint_serverless.rules

# 2. The SAM transform (offline: SAM's own managed-policy map), then SAM's lint, which
#    reads .cfnlintrc.yaml as well. Both read samconfig.toml's [default] environment,
#    whose language_extensions = true lets SAM CLI expand the Fn::ForEach loops first, as
#    sam build and sam deploy do: a samconfig.toml without it fails here.
run_check "sam validate" sam validate --region us-east-1
run_check "sam validate --lint" sam validate --lint --region us-east-1

# 3. The generated CloudFormation. cfn-lint 1.x checks SAM resources against SAM's schema
#    without transforming them, so the role, rule, permissions, event source mapping and
#    EventInvokeConfig that SAM makes are linted here, with cfn-lint's own rules (all
#    levels). The serverless rules ran in step 1, on the SAM template they are written
#    for: on SAM's output they misread the SQS event source mapping (ES1001 asks for an
#    on-failure destination, which Lambda supports only for streams; the queue's redrive
#    policy is SQS's). CodeUri is replaced by a placeholder S3 URI, as SAM does to validate.
#    The Fn::ForEach loops are expanded first with cfn-lint's AWS::LanguageExtensions
#    transform (as CloudFormation does before the SAM transform). Not with SAM CLI's: it
#    expands only for its own use and resolves Fn::Sub and Fn::Join lossily (parameter
#    defaults filled in, pseudo-parameters left as text), where cfn-lint's keeps them.
lint_transformed() {
  local dir out
  dir="$(mktemp -d)"
  out="$dir/template.json"
  # shellcheck disable=SC2064
  trap "rm -rf '$dir'" RETURN
  python3 - template.yaml "$out" <<'PY'
import json
import sys

from cfnlint.decode import decode
from cfnlint.template import Template
from cfnlint.template.transforms._language_extensions import language_extension
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

template, problems = decode(sys.argv[1])
if template is None:
    sys.exit(f"cannot read {sys.argv[1]}: {problems}")
problems, template = language_extension(Template(sys.argv[1], template, ["us-east-1"]))
if problems:
    sys.exit(f"cannot expand Fn::ForEach: {problems}")
# Plain values (no cfn-lint node types), and the one transform left for SAM.
template = json.loads(json.dumps(template))
template["Transform"] = "AWS::Serverless-2016-10-31"
# The expansion resolves the loops' Fn::FindInMap: drop the mappings it left unused
# (cfn-lint's own run, step 1, sees them used).
text = json.dumps(template.get("Resources", {})) + json.dumps(template.get("Outputs", {}))
for name in list(template.get("Mappings", {})):
    if f'"Fn::FindInMap": ["{name}"' not in text:
        del template["Mappings"][name]
if not template.get("Mappings", True):
    del template["Mappings"]
for resource in template.get("Resources", {}).values():
    if resource.get("Type") == "AWS::Serverless::Function":
        resource["Properties"]["CodeUri"] = "s3://placeholder/placeholder.zip"
translated = Translator(managed_policy_map={}, sam_parser=Parser()).translate(
    sam_template=template, parameter_values={}, get_managed_policy_map=lambda: {}
)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(translated, f, indent=1)
resources = translated["Resources"]
print(f"{len(resources)} resources: " + ", ".join(f"{k} ({v['Type']})" for k, v in resources.items()))
PY
  # Its own config file, in place of the repository's .cfnlintrc.yaml (which appends the
  # serverless rules): cfn-lint's rules, informational ones included.
  printf 'include_checks:\n  - I\n' >"$dir/cfnlintrc.yaml"
  cfn-lint --config-file "$dir/cfnlintrc.yaml" -- "$out"
}
run_check "cfn-lint (SAM-transformed)" lint_transformed

# 4. Build, offline. SAM runs `cargo lambda build --release [--arm64] --bin csv-ingest` at
#    the workspace root (CodeUri: .) into the shared target/ directory, and copies
#    target/lambda/csv-ingest/bootstrap to .aws-sam/build/CsvIngestFunction/bootstrap.
if [ "$BUILD" = 1 ]; then
  # cargo-lambda cross-compiles with zig; the Rust standard library for arm64 comes from
  # rustup (added here once; cargo-lambda would otherwise try to add it itself).
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    log "rustup target add aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu
  fi
  start=$SECONDS
  run_check "sam build" sam build --template-file template.yaml
  echo "sam build took $((SECONDS - start)) s"
  # Every function must have come out as a Linux executable for the template's architecture.
  for fn in CsvIngestFunction OneRosterPullFunction SsoCallbackFunction; do
    artifact=".aws-sam/build/$fn/bootstrap"
    if [ ! -x "$artifact" ]; then
      echo "sam build produced no $artifact" >&2
      failed+=("sam build: $fn")
      continue
    fi
    kind="$(file -b "$artifact" 2>/dev/null || echo "?")"
    echo "$fn: $kind"
    case "$kind" in
      *ELF*aarch64* | *ELF*ARM*aarch64* | "?") ;;
      *) echo "$artifact is not an arm64 ELF executable: $kind" >&2; failed+=("sam build: $fn architecture") ;;
    esac
  done
fi

if [ "${#failed[@]}" -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "template checks passed"
