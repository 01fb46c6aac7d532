#!/usr/bin/env bash
# Creates (or refreshes) the git-ignored venv at <repo>/.venv with the pinned Python side of the
# end-to-end suite (scripts/e2e/requirements.txt): ddtrace 3.19.9, Django 5.2, ddapm-test-agent,
# pytest, requests, msgpack, Jinja2 (E2E_VENV=.venv-v4 E2E_REQUIREMENTS=requirements-v4.txt: ddtrace 4.x for the
# canary test). Idempotent: returns at once when the venv already matches the pins.
# Installs python3-venv through apt-get when the system Python cannot create a venv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${E2E_VENV:-$repo/.venv}
req=${E2E_REQUIREMENTS:-$here/requirements.txt}
stamp=$venv/.trace-compat-e2e.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null; then
  echo "setup-venv: installing python3 (apt-get)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  python=python3
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    echo "setup-venv: '$python -m venv' failed; installing python3-venv (apt-get)" >&2
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv "python$ver-venv" >/dev/null 2>&1 \
      || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    "$python" -m venv "$venv"
  fi
fi
echo "setup-venv: installing $(grep -cv '^#' "$req") pinned packages into $venv" >&2
start=$SECONDS
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$req"
echo "$want" > "$stamp"
echo "setup-venv: ready in $((SECONDS - start)) s ($("$venv/bin/python" -c 'import ddtrace, django; print("ddtrace", ddtrace.__version__, "django", django.__version__)'))" >&2
