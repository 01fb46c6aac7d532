# `make run` (issue 5): the newcomer's first command. scripts/run.sh installs what is missing,
# builds in release mode and starts the proxy on the Config/ defaults; without an agent answering
# on the default upstream (http://127.0.0.1:8126/info) it starts in sink mode and says so.
run: ## install what is missing, build (release) and start the proxy on Config/ defaults (sink mode without an agent)
	@scripts/run.sh

.PHONY: run
