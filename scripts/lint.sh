#!/usr/bin/env bash
# `make lint`: the template with cfn-lint and `sam validate --lint`, the
# OpenAPI description with openapi-spec-validator, and unused dependencies with
# cargo-machete. Offline once the tools are installed; warnings fail it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/venv.sh sam
scripts/venv.sh dev
scripts/tools.sh
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_REGION=${AWS_REGION:-us-east-1}
export SAM_CLI_TELEMETRY=0
echo "==> cfn-lint template.yaml" >&2
.venv-sam/bin/cfn-lint template.yaml
echo "==> sam validate --lint" >&2
.venv-sam/bin/sam validate --lint --template template.yaml
echo "==> openapi-spec-validator openapi.yaml" >&2
.venv/bin/openapi-spec-validator openapi.yaml
echo "==> cargo machete (unused dependencies)" >&2
.tools/bin/cargo-machete
