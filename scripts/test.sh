#!/usr/bin/env bash
# The test command (`make test`): sets up everything on a fresh machine, then runs
# formatting, clippy, the template and OpenAPI lint, every test against moto
# server, and a smoke run of `make dev`. moto is stopped on every exit path.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*" >&2; }

step "toolchain components"
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done

step "python tools (.venv and .venv-sam, pinned)"
scripts/venv.sh dev
scripts/venv.sh sam

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

step "lint: template.yaml and openapi.yaml"
scripts/lint.sh

step "cargo build --bins (the Runtime API tests and make dev run the binaries)"
cargo build --workspace --bins --locked

# shellcheck source=scripts/moto.sh
source scripts/moto.sh
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
step "moto server"
start_moto

step "cargo test"
cargo test --workspace --all-features --locked
stop_moto

step "make dev smoke run: trigger -> callback -> submitted on port 3000"
scripts/dev-smoke.sh
