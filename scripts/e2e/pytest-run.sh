#!/usr/bin/env bash
# Runs pytest in Tests/e2e under a time limit and turns its exit code into one line: the shared tail of
# scripts/e2e/run.sh (`make e2e`) and scripts/fleet/run.sh (`make fleet-e2e`).
# Usage: pytest-run.sh LABEL TIMEOUT_SECONDS LOG_DIR [pytest args…]   (TRACE_COMPAT_BIN must be exported)
# Exit: pytest's, except "no test collected" (5) → 1, so an empty selection never passes.
set -uo pipefail
label=$1 limit=$2 logs=$3; shift 3
repo=$(cd "$(dirname "$0")/../.." && pwd)
start=$SECONDS
(cd "$repo/Tests/e2e" && timeout --kill-after=30 "$limit" "$repo/.venv/bin/python" -m pytest "$@")
rc=$?
elapsed=$((SECONDS - start))
case $rc in
  0) echo "$label: passed in ${elapsed} s" ;;
  5) echo "$label: FAILED: pytest collected no test (exit 5); the suite must run" >&2; rc=1 ;;
  124|137) echo "$label: FAILED: ran over ${limit} s and was stopped" >&2 ;;
  *) echo "$label: FAILED (pytest exit $rc) after ${elapsed} s; logs under $logs" >&2 ;;
esac
exit $rc
