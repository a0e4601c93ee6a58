#!/usr/bin/env bash
# Debian's Chromium, pinned, for the page check (scripts/dev-page.sh). Installs it
# with apt-get when it is missing (root needed); says what to run otherwise.
set -euo pipefail
version=148.0.7778.167-1~deb12u1
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium.sh: Chromium is missing; install it with: sudo apt-get install chromium=$version" >&2
  exit 1
fi
echo "chromium.sh: installing Debian's chromium $version" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "chromium=$version" >&2 || {
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "chromium=$version" >&2
}
