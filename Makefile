# citytwin — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       := bin/citytwin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# Integration tests fail (never skip) when a real service is missing.
export CI ?= true

.PHONY: all setup build run test vet fuzz bench compose-config clean

all: build

## setup: install what is missing (Debian mosquitto, libgeos-dev, docker-compose; InfluxDB 1.8.10 into .tools/bin)
setup:
	@scripts/setup.sh

## build: build bin/citytwin
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/citytwin

## run: set up, start InfluxDB, citytwin (embedded broker) and the simulator
run: setup build
	@scripts/run.sh

## test: set up and run every test against real Mosquitto and InfluxDB
test: setup vet
	$(GO) test -race -count=1 -timeout 45m ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

## fuzz: run each fuzz target (decoders, IoT Agent parsers, NGSI-LD q) for FUZZTIME (default 30s)
FUZZTIME ?= 30s
FUZZ_TARGETS = ingest/ngsi:FuzzDecode ingest/iota:FuzzParseUL ingest/iota:FuzzParseTopic \
	ingest/iota:FuzzParseJSONMeasures ingest/iota:FuzzMap web/ngsild:FuzzParseQ
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in ./$${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) ./$${t%%:*}/; \
	done

## bench: citytwin vs the minimal baseline, side by side, on real services
bench: setup
	@scripts/bench.sh $(BENCHFLAGS)

clean:
	rm -rf bin .run
