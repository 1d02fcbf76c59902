# citytwin — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       := bin/citytwin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
# Integration tests fail (never skip) when a real service is missing.
export CI ?= true
# The browser test keeps its screenshots here.
export CITYTWIN_ARTIFACTS ?= $(CURDIR)/.artifacts

# The dashboard (web/ui) is built by npm into web/ui/dist and compiled into
# the binary with the build tag ui; without the tag / shows how to build it.
UI       := web/ui
UI_SRC   := $(shell find $(UI)/src $(UI)/public -type f 2>/dev/null) \
	$(UI)/index.html $(UI)/vite.config.ts $(UI)/tsconfig.json $(UI)/package.json
GOTAGS   := ui

.PHONY: all setup build run test vet fuzz bench compose-config clean ui

all: build

## setup: install what is missing (Debian mosquitto, mosquitto-clients, libgeos-dev, docker-compose, curl, jq, chromium; InfluxDB 1.8.10 into .tools/bin)
setup:
	@scripts/setup.sh

## build: build bin/citytwin with the dashboard
build: ui
	$(GO) build -tags $(GOTAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/citytwin

## ui: build the dashboard into web/ui/dist (npm ci from the lockfile, then vite)
ui: $(UI)/dist/index.html

$(UI)/node_modules/.package-lock.json: $(UI)/package-lock.json $(UI)/package.json
	@command -v npm >/dev/null 2>&1 || { echo "ui: Node.js 20.19+ and npm are needed to build the dashboard" >&2; exit 1; }
	cd $(UI) && npm ci --no-audit --no-fund
	@touch $@

$(UI)/dist/index.html: $(UI)/node_modules/.package-lock.json $(UI_SRC)
	cd $(UI) && npm run build

## run: set up, start InfluxDB, citytwin (embedded broker) and the simulator
run: setup build
	@scripts/run.sh

## test: set up and run every test against real Mosquitto and InfluxDB, and the dashboard in Chromium
test: setup ui vet
	cd $(UI) && npm test
	$(GO) test -tags $(GOTAGS) -race -count=1 -timeout 45m ./...

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
	rm -rf bin .run .artifacts $(UI)/dist
