#!/usr/bin/env bash
# Checks that a release binary runs without a Swift toolchain: ldd lists no libswift* (nor
# Foundation) library, its checksum file matches, and with an empty environment (no PATH, no
# LD_LIBRARY_PATH) it prints its version, audits the real fixtures and serves /compat/health.
# Usage: scripts/dist/check.sh dist/trace-compat
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fail() { echo "dist check: FAILED: $*" >&2; exit 1; }
[ -x "$bin" ] || fail "no executable at $bin"
(cd "$(dirname "$bin")" && sha256sum --quiet -c "$(basename "$bin").sha256") || fail "checksum"
libs=$(ldd "$bin" || true)
if grep -Eiq 'libswift|libFoundation|libdispatch|libBlocksRuntime|not found' <<<"$libs"; then
  echo "$libs" >&2; fail "$bin needs Swift runtime libraries (or one is missing)"
fi
echo "dist check: ldd lists $(grep -c '=>' <<<"$libs") libraries, none from Swift: $(awk '/=>/{print $1}' <<<"$libs" | tr '\n' ' ')"
env -i "$bin" --help > /dev/null || fail "--help with an empty environment"
repo=$(cd "$(dirname "$0")/../.." && pwd)
fixtures=$repo/../shared/fixtures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -d "$fixtures" ]; then
  env -i "$bin" audit "$fixtures" --json "$work/r.json" > "$work/out" || fail "audit of $fixtures with an empty environment"
  grep -q "V4-DJANGO-MINIMAL" "$work/out" || fail "audit printed no V4-DJANGO-MINIMAL finding"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env -i "$bin" proxy --listen "127.0.0.1:$port" --upstream none --report "$work/p.json" > "$work/proxy.log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$port/compat/health', timeout=1).status != 200)" 2>/dev/null; then ok=1; break; fi
  sleep 0.1
done
kill -TERM "$pid"; wait "$pid" || true
[ -n "$ok" ] || { cat "$work/proxy.log" >&2; fail "the proxy did not answer /compat/health"; }
echo "dist check: $bin runs without a toolchain (--help, audit, proxy health): $(cat "$bin.sha256")"
