#!/usr/bin/env bash
# Installs what the console's browser tests need: Debian's Chromium, and
# playwright-core from npm (it drives that Chromium; it downloads no browser).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
dir=internal/console/testdata/e2e
if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules/playwright-core" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
fi
