#!/usr/bin/env bash
# Installs the demo's Service Bus application's one dependency
# (@azure/service-bus) into demo/sdk; skips when it is present.
set -eu
dir="$(cd "$(dirname "$0")/../.." && pwd)/demo/sdk"
if [ -d "$dir/node_modules/@azure/service-bus" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing: the demo's JavaScript SDK step will skip (or fail under CI=true)" >&2
  exit 0
fi
echo "installing the Service Bus JavaScript SDK for the demo (npm ci)"
cd "$dir" && npm ci --no-audit --no-fund
