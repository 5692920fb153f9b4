# copnet: `make run` starts the all-in-one node, `make test` runs every module's tests
# against a real PostgreSQL (started if stopped) and real NATS servers the tests embed.
GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# go test ./... does not work at a go.work root without a module: loop over the modules.
MODULES     := $(shell $(GO) list -m -f '{{.Dir}}')
# e2e runs every service as its own process; `make e2e` runs it, `make test` the rest.
TEST_MODULES := $(filter-out %/e2e,$(MODULES))
TEST_FLAGS  ?= -count=1 -timeout 12m

.PHONY: run test test-short e2e bench bench-quick lint build postgres fuzz generate

run:
	$(GO) run ./cmd/copnet

build:
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/copnet ./services/registry/cmd/registry

postgres:
	@bash scripts/ensure-postgres.sh

# The console's own package (a Chromium journey per user journey) runs in three parts side
# by side (scripts/test-sharded.sh), alongside the other modules, which run one after another
# as go test runs them; its output is printed when both are done. Its journeys spend most of
# their time waiting for events to travel, so sharing the two cores costs little.
CONSOLE := $(filter %/services/console,$(TEST_MODULES))
test: postgres
	@set -e; out=$$(mktemp); \
	(cd $(CONSOLE) && $(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -v '/services/console$$') && \
		GO=$(GO) bash $(CURDIR)/scripts/test-sharded.sh 3 . $(TEST_FLAGS)) >$$out 2>&1 & console=$$!; \
	rc=0; for m in $(filter-out $(CONSOLE),$(TEST_MODULES)); do echo "== $$m"; \
		(cd $$m && $(GO) test $(TEST_FLAGS) ./...) || rc=1; done; \
	wait $$console || rc=1; echo "== $(CONSOLE)"; cat $$out; rm -f $$out; exit $$rc

# The quick loop: slow tests skip themselves under -short, and modules run three at a time
# (their tests mostly wait on PostgreSQL and NATS); each module's output is printed whole.
test-short: postgres
	@printf '%s\n' $(TEST_MODULES) | xargs -P 3 -I{} sh -c 'out=$$(cd {} && $(GO) test -short $(TEST_FLAGS) ./... 2>&1); rc=$$?; printf "== %s\n%s\n" {} "$$out"; exit $$rc'

# The split deployment proven with processes: a real nats-server built from the pinned module
# and every service as its own OS process, through one scenario across all of them.
e2e: postgres
	cd e2e && $(GO) test -count=1 -timeout 10m ./...

# Every Go native fuzz target (func FuzzXxx) of every module, each alone for FUZZTIME; a crash
# fails the run and leaves its input in the package's testdata/fuzz, where it becomes a case
# `make test` replays. CI runs each for a few seconds (FUZZTIME=3s).
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash scripts/fuzz.sh

# Throughput, latency, growth and federation measured against the raw limits of NATS and
# PostgreSQL in the same run; results in bench/results/<date>.json. bench-quick is a small run
# CI makes so the harness never rots (it checks the harness runs, not speed).
bench: postgres
	$(GO) run ./bench/cmd/bench --split

bench-quick: postgres
	$(GO) run ./bench/cmd/bench --quick --split

# The event contract (schemas/internal/events.py) writes the event JSON Schemas, the Go event
# types and the AsyncAPI document; pkg/events' TestGeneratedFilesAreFresh fails when they are stale.
generate:
	python3 schemas/internal/events.py
	gofmt -w pkg/events

lint:
	@echo "== OpenAPI documents (kin-openapi) and generated event files"
	@cd schemas && $(GO) test -count=1 -run 'TestOpenAPIDocumentsAreValid' .
	@cd pkg && $(GO) test -count=1 -run 'TestGeneratedFilesAreFresh|TestEventSchemasAreClosed' ./events/
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do echo "== vet $$m"; (cd $$m && $(GO) vet ./...); done
	@set -e; for m in $(MODULES); do echo "== staticcheck $$m"; (cd $$m && $(STATICCHECK) ./...); done
