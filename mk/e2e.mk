# End-to-end suite (issue 5): real ddtrace 3.19.9 apps → trace-compat proxy → Datadog's test agent
# (ddapm-test-agent), in a git-ignored venv (.venv). See docs/e2e.md. `make test` runs `e2e`.
# E2E_SWIFT_FLAGS: extra `swift build` flags (e.g. --scratch-path .build-x); E2E_ARGS: pytest args.
E2E_SWIFT_FLAGS ?=
E2E_ARGS ?=

e2e: deps ## end-to-end suite: ddtrace apps → proxy → Datadog test agent (builds, sets up the venv, runs pytest)
	$(SWIFT) build $(E2E_SWIFT_FLAGS) --product trace-compat
	TRACE_COMPAT_BIN="$$($(SWIFT) build $(E2E_SWIFT_FLAGS) --show-bin-path)/trace-compat" scripts/e2e/run.sh $(E2E_ARGS)

e2e-setup: ## install the end-to-end suite's venv (ddtrace, Django, test agent, pytest) and Chromium
	scripts/e2e/setup.sh

.PHONY: e2e e2e-setup
