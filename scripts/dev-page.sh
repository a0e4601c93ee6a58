#!/usr/bin/env bash
# `make dev-page`: the page `make dev` serves at `/`, checked in headless
# Chromium while the demo month renders. Starts the stack (renders of 4 s, every
# 3rd failing and not tried again, the worker every 2 s, 3 render slots), triggers the month, and saves the progress
# route's answer, a screenshot and the rendered DOM at three moments into
# target/dev/page/. Not part of `make test` (it takes a minute or two).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scripts/chromium.sh
scripts/venv.sh dev
out=target/dev/page
rm -rf "$out" && mkdir -p "$out"
# shellcheck source=scripts/dev-stack.sh
source scripts/dev-stack.sh
start_dev page DEV_RENDER_SECONDS=4 DEV_FAIL_EVERY=3 DEV_TICK_SECONDS=2 DEV_HEYGEN_CONCURRENCY=3 DEV_MAX_CONCURRENT_RENDERS=3 DEV_MAX_RENDER_ATTEMPTS=1
.venv/bin/python scripts/dev_page.py "$dev_state" "$out" || { echo "dev-page: failed; the stack's log:" >&2; tail -50 "$dev_log" >&2; exit 1; }
stop_dev
trap - EXIT
echo "dev-page: passed; see $out/*.png" >&2
