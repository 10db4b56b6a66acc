# artisan-notify: the commands README.md documents.
GO      ?= go
BIN     := bin/server
# The browser tests run the server with no DATABASE_URL: it starts its own local PostgreSQL here.
E2E_DATA_DIR ?= /tmp/artisan-notify-e2e-pg
NPM_CI  := npm ci --no-audit --no-fund --loglevel=error

.PHONY: run build test test-go test-web test-sdk deps sysdeps generate check-generated lint-contracts check-breaking vet fuzz bench

## run: start the server (local PostgreSQL when DATABASE_URL is unset)
run:
	$(GO) run ./cmd/server

## build: one static binary with migrations and docs embedded
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/server

## deps: the npm packages of the tests, the web app, the TypeScript SDK and the contract linters (from the lockfiles)
deps: tests/socket/node_modules/.ok tests/cluster/node_modules/.ok clients/typescript/node_modules/.ok web/node_modules/.ok tools/npm/node_modules/.ok
%/node_modules/.ok: %/package-lock.json
	$(NPM_CI) --prefix $*
	touch $@
# The web app links the SDK (file:../clients/typescript), whose build needs the SDK's own packages.
web/node_modules/.ok: clients/typescript/node_modules/.ok

## sysdeps: the system packages the tests need (apt; only those missing)
sysdeps:
	@bash scripts/install-system-packages.sh

## test: the whole suite: Go unit and integration tests (-race), the socket.io-client suite, web unit and browser tests
test: sysdeps deps build
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) test-web
	$(MAKE) test-sdk

test-web: web/node_modules/.ok build
	npm --prefix web test
	npm --prefix web run build
	env -u DATABASE_URL E2E_SERVER_CMD="$(CURDIR)/$(BIN)" E2E_GRANT_CMD="$(CURDIR)/$(BIN) grant-pdg {email}" \
	  DATA_DIR="$(E2E_DATA_DIR)" npm --prefix web run e2e

## test-sdk: the TypeScript SDK (clients/typescript) against bin/server: both transports, resync, errors, types, npm pack + install
test-sdk: clients/typescript/node_modules/.ok build
	npm --prefix clients/typescript test

## generate: regenerate everything under gen/ and clients/typescript/src/gen from the contracts
generate: clients/typescript/node_modules/.ok tools/npm/node_modules/.ok
	$(GO) generate ./...

## check-generated: regenerate and fail if anything generated changed
check-generated: generate
	@changed="$$(git status --porcelain -- gen clients/typescript/src/gen)"; \
	if [ -n "$$changed" ]; then echo "generated code is stale; run make generate and commit:"; echo "$$changed"; git diff --stat -- gen clients/typescript/src/gen; exit 1; fi

## lint-contracts: lint openapi.yaml and asyncapi.yaml
lint-contracts: tools/npm/node_modules/.ok
	REDOCLY_TELEMETRY=off npm --prefix tools/npm exec --no -- redocly lint --config tools/npm/redocly.yaml openapi.yaml asyncapi.yaml
	cd tools/npm && node ../../scripts/validate-asyncapi.mjs ../../asyncapi.yaml

## check-breaking: fail on a breaking change to openapi.yaml or asyncapi.yaml unless info.version's major was raised
## (base: the merge base with the default branch, else the last v* tag, else the version before the last change; see scripts/check-breaking.sh)
check-breaking: tools/npm/node_modules/.ok
	bash scripts/check-breaking.sh

vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

## fuzz: a short run of every fuzz target (CI), each bounded by a number of inputs (about 15 s here): a time
## bound races Go 1.26's fuzzing coordinator at its end (a spurious "context deadline exceeded", fixed in Go 1.27);
## longer: make fuzz FUZZTIME=10m
FUZZTIME ?=
fuzztime = $(if $(FUZZTIME),$(FUZZTIME),$(1))
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(call fuzztime,100000x) ./impl/auth
	$(GO) test -run='^$$' -fuzz='^FuzzHostileRequests$$' -fuzztime=$(call fuzztime,2000x) ./impl/api
	$(GO) test -run='^$$' -fuzz='^FuzzGenerate$$' -fuzztime=$(call fuzztime,10x) ./cmd/asyncgen
	$(GO) test -run='^$$' -fuzz='^FuzzFrameReader$$' -fuzztime=$(call fuzztime,50000x) ./impl/socket
