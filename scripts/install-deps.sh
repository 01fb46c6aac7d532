#!/usr/bin/env bash
# Installs what the build and the tests need and is not there yet. Idempotent and quiet when all is present.
set -euo pipefail
need=()
pkg-config --exists msgpack 2>/dev/null || need+=(libmsgpack-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
if ((${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
