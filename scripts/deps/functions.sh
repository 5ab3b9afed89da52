#!/usr/bin/env bash
# The function host tests run real Node.js function apps (testdata/nodeapps)
# in Junction's Node.js worker; their npm packages (@azure/functions) are
# installed here once so the tests never reach the network (npm ci where the
# app has a package-lock.json). Idempotent: an app is installed again only
# when its package.json or package-lock.json changed.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if command -v apt-get >/dev/null; then
    echo "installing Node.js for the function host tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "functions.sh: node and npm are needed for the Node.js function app tests" >&2
    exit 1
  fi
fi
for pkg in internal/function/testdata/nodeapps/*/functions/package.json; do
  [ -e "$pkg" ] || continue
  dir=$(dirname "$pkg")
  stamp="$dir/node_modules/.junction-installed"
  sum=$(cat "$pkg" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    continue
  fi
  echo "npm install in $dir"
  if [ -f "$dir/package-lock.json" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  else
    (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null)
  fi
  mkdir -p "$dir/node_modules"
  echo "$sum" > "$stamp"
done
