#!/usr/bin/env bash
# Runs the end-to-end suite (Tests/e2e): real ddtrace 3.19.9 apps → trace-compat proxy → Datadog's
# test agent, each also run directly against the test agent for comparison.
# Usage: scripts/e2e/run.sh [pytest args…]   (e.g. -k django, -x)
# Env: TRACE_COMPAT_BIN (default: the debug build from `swift build --show-bin-path`),
#      E2E_TIMEOUT (seconds for the whole pytest run, default 2700: the newcomer test makes a release build).
# Logs of every proxy, agent and app run stay under .e2e/ (git-ignored) after the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
bin=${TRACE_COMPAT_BIN:-"$(${SWIFT:-swift} build --show-bin-path)/trace-compat"}
if [ ! -x "$bin" ]; then
  echo "e2e: no trace-compat binary at $bin: build it first (make e2e does)" >&2
  exit 2
fi
"$here/setup.sh"
rm -rf "$repo/.e2e"
echo "e2e: trace-compat at $bin; pytest in Tests/e2e (logs under .e2e/)"
TRACE_COMPAT_BIN="$bin" exec "$here/pytest-run.sh" e2e "${E2E_TIMEOUT:-2700}" .e2e/ "$@"
