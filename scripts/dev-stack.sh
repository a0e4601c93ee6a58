# Sourced by the scripts that drive `make dev`'s stack (dev-smoke.sh, dev-page.sh):
# `start_dev NAME [VAR=value...]` starts scripts/dev.sh on port 4000 (or a free
# port if 4000 is busy) with the given environment and waits until it answers;
# then $dev_port, $dev_state (its state file) and $dev_log are set. `stop_dev`
# stops it and everything it started.

start_dev() {
  local name=$1
  shift
  mkdir -p target/dev
  dev_port=4000
  # SO_REUSEADDR as the stack's own listener sets it (connections of an earlier
  # run may linger in TIME_WAIT).
  if ! .venv/bin/python -c 'import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 4000)); s.listen()' 2>/dev/null; then
    dev_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$name: port 4000 is busy (a running make dev?); using $dev_port" >&2
  fi
  dev_state=target/dev/$name-stack.json
  dev_log=target/dev/$name.log
  rm -f "$dev_state"
  env DEV_PORT="$dev_port" DEV_STATE_FILE="$dev_state" DEV_ENV_FILE="target/dev/$name-env.local.json" "$@" setsid scripts/dev.sh >"$dev_log" 2>&1 &
  dev_pid=$!
  trap stop_dev EXIT
  local started
  started=$(date +%s)
  until [ -f "$dev_state" ] && .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$dev_port/webhooks/heygen', timeout=1)" 2>/dev/null; do
    if ! kill -0 "$dev_pid" 2>/dev/null; then
      echo "$name: make dev exited early; its log:" >&2; cat "$dev_log" >&2; exit 1
    fi
    if [ $(( $(date +%s) - started )) -gt 300 ]; then
      echo "$name: not ready after 300 s; its log:" >&2; cat "$dev_log" >&2; exit 1
    fi
    sleep 0.5
  done
  echo "$name: ready after $(( $(date +%s) - started )) s on port $dev_port" >&2
}

stop_dev() {
  kill -TERM "$dev_pid" 2>/dev/null || true
  wait "$dev_pid" 2>/dev/null || true
}
