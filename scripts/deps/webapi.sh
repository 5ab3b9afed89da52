#!/usr/bin/env bash
# Installs the dynamics-web-api npm client that the Web API tests drive
# Junction with (internal/webapi/testdata/js). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../../internal/webapi/testdata/js"
if ! command -v npm >/dev/null 2>&1; then
	apt-get update && apt-get install -y nodejs npm
fi
want=$(node -p 'require("./package.json").dependencies["dynamics-web-api"]')
have=$(node -p 'try { require("./node_modules/dynamics-web-api/package.json").version } catch { "" }')
if [ "$want" = "$have" ]; then
	exit 0
fi
npm ci --no-audit --no-fund
