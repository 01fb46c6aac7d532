#!/usr/bin/env bash
# Installs what `make deploy-check` and `make fleet-e2e` need and is missing; idempotent and quiet
# when everything is there (a fresh CI machine gets all of it):
#   kubectl         Debian `kubernetes-client` (kubectl kustomize renders the manifests, no cluster)
#   promtool        Debian `prometheus` (also the Prometheus server the fleet test starts)
#   systemd-analyze Debian `systemd`
#   ip              Debian `iproute2` (the fleet test's network namespaces)
#   checkov         PyPI, pinned, into the git-ignored venv .venv-deploy (Kubernetes manifest checker)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=${DEPLOY_VENV:-$repo/.venv-deploy}
checkov_version=3.3.30

need=()
command -v kubectl >/dev/null || need+=(kubernetes-client)
{ command -v promtool >/dev/null && command -v prometheus >/dev/null; } || need+=(prometheus)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v ip >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
  echo "deploy tools: installing ${need[*]} (apt-get)" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian's prometheus package enables its service; where systemd runs, the tests start their own.
  if [[ " ${need[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

if ! [ -x "$venv/bin/checkov" ] || [ "$("$venv/bin/pip" show checkov 2>/dev/null | sed -n 's/^Version: //p')" != "$checkov_version" ]; then
  echo "deploy tools: installing checkov $checkov_version into $venv (pip)" >&2
  python=${PYTHON:-python3}
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input "checkov==$checkov_version"
fi
