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
start=$SECONDS
set +e
# The test file is named on the command line (pytest.ini's test_*.py pattern leaves it out of `make e2e`).
(cd "$repo/Tests/e2e" && TRACE_COMPAT_BIN="$bin" timeout --kill-after=30 "${FLEET_TIMEOUT:-300}" \
  "$repo/.venv/bin/python" -m pytest fleet_e2e.py "$@")
rc=$?
set -e
case $rc in
  0) echo "fleet-e2e: passed in $((SECONDS - start)) s" ;;
  5) echo "fleet-e2e: FAILED: pytest collected no test" >&2; rc=1 ;;
  124|137) echo "fleet-e2e: FAILED: ran over ${FLEET_TIMEOUT:-300} s and was stopped" >&2 ;;
  *) echo "fleet-e2e: FAILED (pytest exit $rc) after $((SECONDS - start)) s; logs under .fleet/" >&2 ;;
esac
exit $rc
