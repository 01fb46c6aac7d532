# trace-compat: `make run` and `make test` are the two commands a newcomer needs.
# Each concern keeps its own targets in mk/*.mk (fuzz, e2e, run, install, bench); this file ties them together.
SHELL := /bin/bash
SWIFT ?= swift
.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort | awk -F'\t' '{ n[NR] = $$1; d[NR] = $$2; if (length($$1) > w) w = length($$1) } \
		END { for (i = 1; i <= NR; i++) printf("  make %-" w "s  %s\n", n[i], d[i]) }'
	@echo "After \`make install\`, call the CLI as \`trace-compat\` (PREFIX/bin, default ~/.local/bin, must be on PATH)."

deps: ## install what is missing (libmsgpack-dev through apt-get)
	@scripts/install-deps.sh

build: deps ## debug build
	$(SWIFT) build

unit: deps ## Swift tests: unit, differential (msgpack-c), integration (real sockets)
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test: unit e2e deploy-check fleet-e2e ## everything: unit, end-to-end (real ddtrace apps), deploy/ checks, the fleet test

.PHONY: help deps build unit test
-include mk/*.mk
