#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the trace tests export to
# (internal/trace/testdata/otelcol, a module of its own built from the Go
# module proxy); skips the build when the binary is newer than its sources.
set -eu
dir="$(cd "$(dirname "$0")/../.." && pwd)/internal/trace/testdata/otelcol"
bin="$dir/otelcol"
if [ -x "$bin" ] && [ "$bin" -nt "$dir/main.go" ] && [ "$bin" -nt "$dir/go.mod" ]; then
  exit 0
fi
echo "building the OpenTelemetry Collector for the trace tests (a few minutes the first time)"
cd "$dir" && go build -o otelcol .
