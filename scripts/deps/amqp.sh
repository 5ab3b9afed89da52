#!/usr/bin/env bash
# Installs the npm package the AMQP listener's tests drive (@azure/service-bus)
# into internal/broker/amqp/testdata/js; skips when it is present.
set -eu
dir="$(cd "$(dirname "$0")/../.." && pwd)/internal/broker/amqp/testdata/js"
if [ -d "$dir/node_modules/@azure/service-bus" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing: the JavaScript SDK test will skip (or fail under CI=true)" >&2
  exit 0
fi
echo "installing the Service Bus JavaScript SDK for the AMQP tests (npm ci)"
cd "$dir" && npm ci --no-audit --no-fund
