#!/usr/bin/env bash
# The workflow tests run JavaScriptCode actions through node (standing in for
# the function host's sandbox), and Xslt actions need libxslt's headers (cgo)
# to build. Installs only what is missing.
set -u
need=()
command -v node >/dev/null || need+=(nodejs)
command -v gcc >/dev/null || need+=(gcc)
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists libxslt 2>/dev/null || need+=(libxslt1-dev)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if command -v apt-get >/dev/null; then
  echo "installing ${need[*]} for the workflow build and tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
exit 0
