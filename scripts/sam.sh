#!/usr/bin/env bash
# Runs the pinned SAM CLI (from .venv-sam, with cargo-lambda and zig beside it)
# for `make build`, `make deploy-first` and `make deploy`.
# Usage: scripts/sam.sh build | deploy-first | deploy | <any sam command>
#   deploy-first: `sam deploy --guided`, answers saved to samconfig.deploy.toml
#                 (git-ignored: the account's parameters stay out of the tracked
#                 samconfig.toml) under the environment DEPLOY_ENV (default).
#   deploy:       `sam deploy` with those saved answers, not guided.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/venv.sh sam
if [ "${1:-}" = build ] && ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
  echo "sam.sh: adding the Rust target aarch64-unknown-linux-gnu (Lambda arm64)" >&2
  rustup target add aarch64-unknown-linux-gnu
fi
export PATH="$root/.venv-sam/bin:$PATH" SAM_CLI_TELEMETRY=0
saved=samconfig.deploy.toml
env=${DEPLOY_ENV:-default}
case "${1:-}" in
  deploy-first)
    shift
    exec sam deploy --guided --config-file "$saved" --config-env "$env" "$@"
    ;;
  deploy)
    shift
    if ! grep -q "^\[$env\.deploy\.parameters\]" "$saved" 2>/dev/null; then
      echo "sam.sh: no saved deployment '$env' in $saved: run 'make deploy-first' (DEPLOY_ENV=$env) once" >&2
      exit 1
    fi
    exec sam deploy --config-file "$saved" --config-env "$env" "$@"
    ;;
esac
exec sam "$@"
