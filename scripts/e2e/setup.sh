#!/usr/bin/env bash
# Installs what the end-to-end suite needs and is missing: the pinned Python venv (setup-venv.sh)
# and headless Chromium (Debian package `chromium`) for the HTML report check. Idempotent.
# A Chromium that cannot be installed is not fatal: that one test then skips and says why.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/setup-venv.sh"
# The canary test's second tracer: the same app on ddtrace 4.x, in its own venv.
E2E_VENV="$here/../../.venv-v4" E2E_REQUIREMENTS="$here/requirements-v4.txt" "$here/setup-venv.sh"
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  echo "e2e setup: installing chromium (apt-get) for the HTML report check" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq \
         --no-install-recommends chromium >/dev/null; }; then
    echo "e2e setup: WARNING: chromium could not be installed; the browser test will be skipped" >&2
  fi
fi
