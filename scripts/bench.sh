#!/usr/bin/env bash
# `make bench` (not part of `make test`; takes minutes): builds the four functions
# with the shipping profile as `sam build` does (`--bin X` from the workspace
# root) and the floor (bench/floor, a hello-world lambda_http function, same
# profile), then runs the harness (bench/): every binary under the Lambda Runtime
# API against moto and the HeyGen simulator, behind counting proxies; then a
# month through the local stack (scripts/bench-month.sh). Writes BENCHMARKS.md.
#
# BENCH_INVOCATIONS (500), BENCH_SPAWNS (10) and BENCH_RECONCILE_TICKS (20) set
# the sample sizes; BENCH_OUTPUT the file written; BENCH_ONLY (say
# `webhook,worker`; of pending, trigger, webhook, worker) measures only those
# beside the floor.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> [%4ss] %s\n' "$SECONDS" "$*" >&2; }

scripts/venv.sh dev
step "release builds, one binary at a time, as sam build makes them"
for bin in admin-trigger admin-pending heygen-webhook heygen-worker; do
  cargo build --release --locked --bin "$bin"
done
cargo build --release --locked -p bench-floor

step "the harness (profile harness: optimised, no LTO)"
cargo build --profile harness --locked -p bench --bin bench

# shellcheck source=scripts/moto.sh
source scripts/moto.sh
trap stop_moto EXIT
step "moto server"
start_moto

step "measuring"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD 2>/dev/null; then commit="$commit (with uncommitted changes)"; fi
BENCH_RELEASE_DIR="$root/target/release" BENCH_COMMIT="$commit" BENCH_RUSTC="$(rustc --version)" \
  BENCH_OUTPUT="${BENCH_OUTPUT:-$root/BENCHMARKS.md}" target/harness/bench
stop_moto
trap - EXIT
step "a month through the local stack, refill on completion off and on"
BENCH_OUTPUT="${BENCH_OUTPUT:-$root/BENCHMARKS.md}" scripts/bench-month.sh
step "done"
