#!/usr/bin/env bash
# The test command (`make test`): sets up everything on a fresh machine, then runs
# formatting and lint checks and every test against moto server. moto is stopped on
# every exit path.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*" >&2; }

step "toolchain components"
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

step "python tools (.venv, pinned)"
scripts/venv.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

# shellcheck source=scripts/moto.sh
source scripts/moto.sh
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
step "moto server"
start_moto

step "cargo build --bins (the Runtime API tests run the binaries themselves)"
cargo build --workspace --bins --locked

step "cargo test"
cargo test --workspace --all-features --locked
