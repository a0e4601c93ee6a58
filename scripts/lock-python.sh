#!/usr/bin/env bash
# Re-pins a requirements-*.txt (the whole dependency tree) from its .in file.
# Usage: scripts/lock-python.sh [dev|sam]   (default: both)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lock() {
  local name=$1 tmp
  tmp=$(mktemp -d)
  python3 -m venv "$tmp/v"
  "$tmp/v/bin/pip" install --quiet --disable-pip-version-check -r "$root/requirements-$name.in"
  { echo "# Generated from requirements-$name.in by scripts/lock-python.sh on Python 3.11; do not edit by hand."
    "$tmp/v/bin/pip" freeze --exclude-editable; } > "$root/requirements-$name.txt"
  rm -rf "$tmp"
}
for name in "${@:-dev sam}"; do
  for n in $name; do lock "$n"; done
done
