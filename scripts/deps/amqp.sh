#!/usr/bin/env bash
# Installs the Service Bus JavaScript SDK (@azure/service-bus) where it is used:
# internal/broker/amqp/testdata/js (the AMQP listener's tests) and demo/sdk (the
# demo's application); skips a folder where it is present.
set -eu
root="$(cd "$(dirname "$0")/../.." && pwd)"
for dir in "$root/internal/broker/amqp/testdata/js" "$root/demo/sdk"; do
  if [ -d "$dir/node_modules/@azure/service-bus" ]; then
    continue
  fi
  if ! command -v npm >/dev/null; then
    echo "npm is missing: the JavaScript SDK tests will skip (or fail under CI=true)" >&2
    exit 0
  fi
  echo "installing the Service Bus JavaScript SDK in ${dir#$root/} (npm ci)"
  (cd "$dir" && npm ci --no-audit --no-fund)
done
