#!/usr/bin/env bash
# Starts `make dev`'s script as a newcomer would, drives trigger -> callback ->
# submitted through its port, stops it, and checks that everything it started
# has stopped. Part of `make test`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/dev-stack.sh
source scripts/dev-stack.sh
start_dev smoke DEV_RENDER_SECONDS=1 DEV_FAIL_EVERY=4 DEV_TICK_SECONDS=1 DEV_DROP_CALLBACKS=3 HEYGEN_RECONCILE_AFTER_SECONDS=2

.venv/bin/python scripts/dev_smoke.py "$dev_state" || { echo "dev-smoke: failed; the stack's log:" >&2; tail -50 "$dev_log" >&2; exit 1; }

# The typed TypeScript client calls every route of the running stack.
month=$(.venv/bin/python -c "import json; print(json.load(open('$dev_state'))['month'])")
node clients/typescript/dist/example.js "http://127.0.0.1:$dev_port" "$month" || { echo "dev-smoke: the TypeScript client's example failed" >&2; exit 1; }

# Completions woke the worker (refill on completion, contract section 9).
grep -q "worker woken to fill the freed render slot" "$dev_log" || { echo "dev-smoke: no completion woke the worker" >&2; exit 1; }

moto_endpoint=$(.venv/bin/python -c "import json; print(json.load(open('$dev_state'))['aws_endpoint_url'])")
stop_dev
trap - EXIT
# Everything it started is gone: the port is free and moto no longer answers.
.venv/bin/python - "$dev_port" "$moto_endpoint" <<'PY'
import socket, sys, urllib.request
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); s.close()
try:
    urllib.request.urlopen(sys.argv[2] + "/moto-api/", timeout=1)
    sys.exit("moto is still running after make dev stopped")
except OSError:
    pass
PY
echo "dev-smoke: stopped cleanly" >&2
