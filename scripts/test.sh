#!/usr/bin/env bash
# The test command (`make test`): sets up everything on a fresh machine, then runs
# formatting, clippy, the template and OpenAPI lint, unused dependencies, every
# test against moto server, and a smoke run of `make dev`. moto is stopped on
# every exit path. Each step shows the seconds elapsed since the start.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> [%4ss] %s\n' "$SECONDS" "$*" >&2; }

setup_pid=""
cleanup() {
  if [ -n "$setup_pid" ] && kill -0 "$setup_pid" 2>/dev/null; then
    pkill -P "$setup_pid" 2>/dev/null || true
    kill "$setup_pid" 2>/dev/null || true
  fi
  if declare -F stop_moto >/dev/null; then stop_moto; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "toolchain components"
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

# The Python venvs mostly download, and the pinned cargo tools build while
# clippy's longest crates leave a core idle: both run beside the Rust steps.
# Their output goes to a log, shown if they fail.
mkdir -p target
setup_log=target/setup-tools.log
step "python and cargo tools (.venv, .venv-sam, .tools; pinned), in the background: $setup_log"
(scripts/venv.sh dev && scripts/venv.sh sam && scripts/tools.sh) >"$setup_log" 2>&1 &
setup_pid=$!
wait_for_setup() {
  if ! wait "$setup_pid"; then
    echo "setting up the tools failed:" >&2
    cat "$setup_log" >&2
    exit 1
  fi
}

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "waiting for the tools"
wait_for_setup

step "lint: template.yaml, openapi.yaml, unused dependencies"
scripts/lint.sh

step "TypeScript client: types from openapi.yaml, tsc --noEmit"
scripts/ts-client.sh build

step "cargo build --bins (the Runtime API tests and make dev run the binaries)"
cargo build --workspace --bins --locked

# shellcheck source=scripts/moto.sh
source scripts/moto.sh
step "moto server"
start_moto

step "cargo test"
cargo test --workspace --all-features --locked
stop_moto

step "make dev smoke run: trigger -> callback -> submitted on port 4000"
scripts/dev-smoke.sh

step "done"
