#!/usr/bin/env bash
# Creates (or refreshes) a project Python venv with its pinned tools.
# Usage: scripts/venv.sh [dev|sam]   (default dev)
#   dev -> .venv      from requirements-dev.txt (moto server)
#   sam -> .venv-sam  from requirements-sam.txt (aws-sam-cli, cfn-lint, cargo-lambda)
# Idempotent: does nothing when the venv already matches its requirements file.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${1:-dev}
case "$name" in
  dev) venv="$root/.venv" ;;
  sam) venv="$root/.venv-sam" ;;
  *) echo "venv.sh: unknown venv '$name' (dev or sam)" >&2; exit 2 ;;
esac
req="$root/requirements-$name.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "venv.sh: $python not found; install Python 3.11 or newer" >&2; exit 1; }
# The pinned tools need 3.11 (networkx, moto's dependencies and the SAM CLI's
# declare Requires-Python >= 3.11): say so before pip fails halfway.
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "venv.sh: the pinned Python tools need Python 3.11 or newer; $python is $("$python" --version 2>&1)." >&2
  echo "venv.sh: install one (Debian 12: apt-get install python3 python3-venv) and, if it is not python3, run with PYTHON=/path/to/python3.11" >&2
  exit 1
fi
echo "venv.sh: installing the pinned $name tools into $(basename "$venv") (first run only)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-virtualenv -r "$req"
echo "$want" > "$stamp"
