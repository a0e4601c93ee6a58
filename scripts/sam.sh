#!/usr/bin/env bash
# Runs the pinned SAM CLI (from .venv-sam, with cargo-lambda and zig beside it)
# for `make build` and `make deploy`. Usage: scripts/sam.sh build | deploy --guided
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/venv.sh sam
if [ "${1:-}" = build ] && ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
  echo "sam.sh: adding the Rust target aarch64-unknown-linux-gnu (Lambda arm64)" >&2
  rustup target add aarch64-unknown-linux-gnu
fi
export PATH="$root/.venv-sam/bin:$PATH" SAM_CLI_TELEMETRY=0
exec sam "$@"
