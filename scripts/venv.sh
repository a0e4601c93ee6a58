#!/usr/bin/env bash
# Creates (or refreshes) the project's Python venv in .venv with the pinned tools.
# Idempotent: does nothing when .venv already matches requirements-dev.txt.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
req="$root/requirements-dev.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "venv.sh: $python not found; install Python 3.9+" >&2; exit 1; }
echo "venv.sh: installing pinned Python tools into .venv (first run only)" >&2
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv -r "$req"
echo "$want" > "$stamp"
