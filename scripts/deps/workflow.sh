#!/usr/bin/env bash
# The workflow tests run JavaScriptCode actions through node (standing in for
# the function host's sandbox). Installs Node.js only when it is missing.
set -u
if command -v node >/dev/null; then
  exit 0
fi
if command -v apt-get >/dev/null; then
  echo "installing Node.js for the workflow tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null
fi
exit 0
