# Fleet end-to-end test (issue 13): three nodes (network namespaces), a proxy, a test agent and
# real ddtrace apps on each, one Prometheus scraping them, `report merge` over their URLs.
# `make test` runs it. FLEET_ARGS: pytest args (e.g. -x). See docs/fleet.md.
FLEET_ARGS ?=

fleet-e2e: deps ## fleet end-to-end test: 3 nodes (netns) x proxy + test agent + apps, Prometheus, report merge
	$(SWIFT) build $(E2E_SWIFT_FLAGS) --product trace-compat
	TRACE_COMPAT_BIN="$$($(SWIFT) build $(E2E_SWIFT_FLAGS) --show-bin-path)/trace-compat" scripts/fleet/run.sh $(FLEET_ARGS)

.PHONY: fleet-e2e
