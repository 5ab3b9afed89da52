#!/usr/bin/env bash
# Installs the dynamics-web-api npm client the Web API tests drive Junction with.
set -euo pipefail
cd "$(dirname "$0")/../../internal/webapi/testdata/js"
if ! command -v npm >/dev/null 2>&1; then
	apt-get update && apt-get install -y nodejs npm
fi
if [ -f node_modules/dynamics-web-api/package.json ] && cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
	exit 0
fi
npm ci --no-audit --no-fund
