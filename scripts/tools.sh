#!/usr/bin/env bash
# Installs the project's pinned cargo tools into .tools/ (git-ignored), once.
# Usage: scripts/tools.sh; then .tools/bin/<tool>. Debug builds: they compile in
# half the time of a release build, and these tools run for seconds.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# name version
tools=(
  "cargo-machete 0.9.2"
)
for entry in "${tools[@]}"; do
  read -r name version <<<"$entry"
  if [ "$("$root/.tools/bin/$name" --version 2>/dev/null | awk '{print $NF}')" != "$version" ]; then
    echo "tools.sh: installing $name $version into .tools (first run only)" >&2
    cargo install --quiet --locked --debug --root "$root/.tools" "$name" --version "$version"
  fi
done
