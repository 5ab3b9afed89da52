# Junction's build and test entry points. `make test` is the whole suite.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X junction/internal/cli.Version=$(VERSION)
export JUNCTION_TEST_POSTGRES ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: build install test deps vet unit fuzz bench soak serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/junction ./cmd/junction

# install puts the junction command in $(go env GOPATH)/bin.
install:
	$(GO) install -ldflags "$(LDFLAGS)" ./cmd/junction

# deps installs what the tests need (npm packages, Debian packages, started
# services); each script in scripts/deps/ is idempotent.
deps:
	@for s in scripts/deps/*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; bash "$$s" || exit 1; done

# TAGS are the build tags of the test suite: xslt needs libxslt1-dev (make deps).
TAGS ?= xslt

vet:
	$(GO) vet -tags "$(TAGS)" ./...

# unit runs the suite under the race detector, then the allocation measures,
# which need a build without it.
unit:
	$(GO) test -race -tags "$(TAGS)" -timeout 30m ./...
	$(GO) test -tags "$(TAGS)" -run 'AllocationPerByte' ./internal/jsonvalue ./internal/webapi ./internal/workflow

test: deps vet unit

# fuzz runs every fuzz target for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

# bench runs the throughput benchmarks beside their ceilings and peers in one
# sitting and prints the table with ratios (bench/suite); BENCHFLAGS passes
# more, e.g. -quick or -no-peers.
bench:
	$(GO) run ./bench/suite $(BENCHFLAGS)

# soak runs the binary for SOAK (default 10m) at a steady load (accounts
# over the Web API, 1 KiB broker messages) with a short retention, prints disk
# and memory every 10s and fails when the disk keeps growing after the
# retention window (bench/soak); SOAKFLAGS passes more, e.g. -retain 1m.
SOAK ?= 10m
SOAKFLAGS ?=
soak: build
	cd bench && $(GO) run ./soak -bin ../bin/junction -duration $(SOAK) $(SOAKFLAGS)

serve:
	$(GO) run ./cmd/junction serve --demo
