#!/usr/bin/env bash
# Store write throughput beside the machine's raw ceilings, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'BenchmarkStoreTx|BenchmarkCeiling' -benchtime "${BENCHTIME:-2s}" -count "${COUNT:-1}" ./internal/store/storetest/
