#!/usr/bin/env bash
# Runs the fleet end-to-end test (Tests/e2e/fleet_e2e.py): three nodes (network namespaces, or
# loopback addresses where namespaces are not permitted), each with its own Datadog test agent,
# trace-compat proxy and ddtrace apps; one Prometheus scraping the three proxies; `report merge`
# over their URLs against one audit of their captures. Logs stay under .fleet/ (git-ignored).
# Env: TRACE_COMPAT_BIN (default: the debug build), FLEET_TIMEOUT (seconds, default 300).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
bin=${TRACE_COMPAT_BIN:-"$(${SWIFT:-swift} build --show-bin-path)/trace-compat"}
[ -x "$bin" ] || { echo "fleet-e2e: no trace-compat binary at $bin: build it first (make fleet-e2e does)" >&2; exit 2; }
"$repo/scripts/e2e/setup-venv.sh"
"$repo/scripts/deploy/install-tools.sh"
echo "fleet-e2e: trace-compat at $bin; logs under .fleet/"
# The test file is named on the command line (pytest.ini's test_*.py pattern leaves it out of `make e2e`).
TRACE_COMPAT_BIN="$bin" exec "$repo/scripts/e2e/pytest-run.sh" fleet-e2e "${FLEET_TIMEOUT:-300}" .fleet/ fleet_e2e.py "$@"
