#!/usr/bin/env bash
# The typed TypeScript client (clients/typescript), kept in step with openapi.yaml.
# Usage: scripts/ts-client.sh check | build | generate
#   check:    installs the pinned npm packages (npm ci, first run only), regenerates
#             the types from openapi.yaml and fails if they differ from the
#             committed src/schema.d.ts, then type-checks the client and its
#             example (tsc --noEmit): a spec change that breaks a caller fails here.
#   build:    check, then compiles dist/ (the smoke run's example runs from it).
#   generate: rewrites src/schema.d.ts from openapi.yaml.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/clients/typescript"
command -v npm >/dev/null || { echo "ts-client.sh: npm (Node.js 20 or newer) is needed for the TypeScript client" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
generate() { node_modules/.bin/openapi-typescript ../../openapi.yaml --output "$1" >/dev/null 2>&1; }
case "${1:-check}" in
  generate) generate src/schema.d.ts; exit 0 ;;
  check | build) ;;
  *) echo "ts-client.sh: check, build or generate" >&2; exit 2 ;;
esac
fresh=$(mktemp --suffix=.d.ts)
trap 'rm -f "$fresh"' EXIT
generate "$fresh"
if ! cmp -s "$fresh" src/schema.d.ts; then
  diff -u src/schema.d.ts "$fresh" | head -40 >&2 || true
  echo "ts-client.sh: clients/typescript/src/schema.d.ts is not what openapi.yaml generates; run scripts/ts-client.sh generate, then fix what no longer type-checks" >&2
  exit 1
fi
node_modules/.bin/tsc --noEmit
if [ "${1:-check}" = build ]; then
  node_modules/.bin/tsc
fi
