#!/usr/bin/env bash
# Starts `make dev`'s script as a newcomer would, drives trigger -> callback ->
# submitted through its port, stops it, and checks that everything it started
# has stopped. Part of `make test`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mkdir -p target/dev

port=3000
# SO_REUSEADDR as the stack's own listener sets it (connections of an earlier run
# may linger in TIME_WAIT).
if ! .venv/bin/python -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 3000)); s.listen()' 2>/dev/null; then
  port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "dev-smoke: port 3000 is busy (a running make dev?); using $port" >&2
fi
state=target/dev/smoke-stack.json
log=target/dev/smoke.log
rm -f "$state"

DEV_PORT=$port DEV_RENDER_SECONDS=1 DEV_FAIL_EVERY=4 DEV_TICK_SECONDS=1 DEV_DROP_CALLBACKS=3 HEYGEN_RECONCILE_AFTER_SECONDS=2 \
  DEV_STATE_FILE=$state setsid scripts/dev.sh >"$log" 2>&1 &
dev_pid=$!
stop_dev() {
  kill -TERM "$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
}
trap stop_dev EXIT

started=$(date +%s)
until [ -f "$state" ] && .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/webhooks/heygen', timeout=1)" 2>/dev/null; do
  if ! kill -0 "$dev_pid" 2>/dev/null; then
    echo "dev-smoke: make dev exited early; its log:" >&2; cat "$log" >&2; exit 1
  fi
  if [ $(( $(date +%s) - started )) -gt 300 ]; then
    echo "dev-smoke: not ready after 300 s; its log:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 0.5
done
echo "dev-smoke: ready after $(( $(date +%s) - started )) s on port $port" >&2

.venv/bin/python scripts/dev_smoke.py "$state" || { echo "dev-smoke: failed; the stack's log:" >&2; tail -50 "$log" >&2; exit 1; }

moto_endpoint=$(.venv/bin/python -c "import json; print(json.load(open('$state'))['aws_endpoint_url'])")
stop_dev
trap - EXIT
# Everything it started is gone: the port is free and moto no longer answers.
.venv/bin/python - "$port" "$moto_endpoint" <<'PY'
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
