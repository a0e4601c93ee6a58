# Sourced, not run: start_moto / stop_moto for the test and dev scripts.
# start_moto starts moto server (from .venv; scripts/moto_server.py says why it is
# started through that file) on a free 127.0.0.1 port, waits until it answers, and
# exports what the AWS SDK needs to talk to it and to nothing else.

MOTO_PID=""

stop_moto() {
  if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  MOTO_PID=""
}

start_moto() {
  local root venv_python port log tries
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  venv_python="$root/.venv/bin/python"
  mkdir -p "$root/target"
  for tries in 1 2 3; do
    port=$("$venv_python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log="$root/target/moto-$port.log"
    MOTO_PORT=$port "$venv_python" "$root/scripts/moto_server.py" 127.0.0.1 "$port" >"$log" 2>&1 &
    MOTO_PID=$!
    if "$venv_python" - "$port" "$MOTO_PID" <<'PY'
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.time() + 30
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)  # moto exited (port taken?)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(1)
PY
    then
      export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
      export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
      export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
      unset AWS_SESSION_TOKEN AWS_PROFILE
      # No instance-metadata lookups, no user profile or credentials files.
      export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
      echo "moto server on $AWS_ENDPOINT_URL (pid $MOTO_PID, log target/moto-$port.log)" >&2
      return 0
    fi
    stop_moto
    echo "moto did not start on port $port (try $tries); log follows:" >&2
    tail -n 20 "$log" >&2 || true
  done
  return 1
}
