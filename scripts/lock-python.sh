#!/usr/bin/env bash
# Re-pins requirements-dev.txt (the whole dependency tree) from requirements-dev.in.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/v"
"$tmp/v/bin/pip" install --quiet --disable-pip-version-check -r "$root/requirements-dev.in"
{ echo "# Generated from requirements-dev.in by scripts/lock-python.sh on Python 3.11; do not edit by hand."
  "$tmp/v/bin/pip" freeze --exclude-editable; } > "$root/requirements-dev.txt"
