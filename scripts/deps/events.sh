#!/usr/bin/env bash
# Installs the npm packages the event router's tests drive (@azure/eventgrid,
# cloudevents) into internal/events/testdata/js; skips when they are present.
set -eu
dir="$(cd "$(dirname "$0")/../.." && pwd)/internal/events/testdata/js"
if [ -d "$dir/node_modules/@azure/eventgrid" ] && [ -d "$dir/node_modules/cloudevents" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing: the events SDK tests will skip (or fail under CI=true)" >&2
  exit 0
fi
echo "installing the events test clients (npm ci)"
cd "$dir" && npm ci --no-audit --no-fund
