#!/usr/bin/env bash
# `make dev`: the whole service locally, no AWS account and no Docker. Installs
# the pinned tools, starts moto, and runs the local stack (tables from
# template.yaml, demo data, HeyGen simulator, the four routes on
# http://127.0.0.1:${DEV_PORT:-4000}). Ctrl-C stops every process it started.
#
# HEYGEN_API_KEY=... HEYGEN_AVATAR_ID=... make dev   uses the real HeyGen instead
# (renders cost money; one item is seeded).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/venv.sh dev
echo "dev.sh: building the local stack" >&2
# The same selection as `make test` builds, so that both share one build (a
# narrower -p build unifies features differently and recompiles).
cargo build --workspace --bins --locked --quiet

# shellcheck source=scripts/moto.sh
source scripts/moto.sh
stack_pid=""
cleanup() {
  if [ -n "$stack_pid" ] && kill -0 "$stack_pid" 2>/dev/null; then
    kill -TERM "$stack_pid" 2>/dev/null || true
    wait "$stack_pid" 2>/dev/null || true
  fi
  stop_moto
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_moto
target/debug/local-stack &
stack_pid=$!
wait "$stack_pid"
