#!/usr/bin/env bash
# `make run`: installs what is missing, builds trace-compat in release mode and starts the proxy on
# the Config/ defaults (Config/trace-compat.yaml), in the foreground (Ctrl-C stops it and writes the
# report). When no Datadog Agent answers on the upstream, it starts in sink mode (--upstream none)
# and says so. Overrides (environment):
#   TRACE_COMPAT_LISTEN    where apps connect   (default 127.0.0.1:8136; or unix:///path/to.sock)
#   TRACE_COMPAT_UPSTREAM  the Datadog Agent    (default http://127.0.0.1:8126; or unix:///path; or none)
#   TRACE_COMPAT_REPORT    the JSON report file (default .run/trace-compat-report.json; .md/.html beside)
#   TRACE_COMPAT_ARGS      more `trace-compat proxy` flags (e.g. --fresh)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
swift=${SWIFT:-swift}
listen=${TRACE_COMPAT_LISTEN:-127.0.0.1:8136}
upstream=${TRACE_COMPAT_UPSTREAM:-http://127.0.0.1:8126}
report=${TRACE_COMPAT_REPORT:-$repo/.run/trace-compat-report.json}
config=$repo/Config/trace-compat.yaml

# Is the listen address taken (a second `make run`)? Checked before building, so the answer is one
# line instead of a success banner followed by the proxy's bind error.
address_in_use() {
  case $listen in
    unix://*) [ -S "${listen#unix://}" ] && curl -s --max-time 2 --unix-socket "${listen#unix://}" -o /dev/null http://x/ ;;
    *) local host=${listen%:*} port=${listen##*:}
       host=${host#[}; host=${host%]}
       (exec 3<>"/dev/tcp/${host:-127.0.0.1}/$port") 2>/dev/null ;;
  esac
}
if address_in_use; then
  echo "run: $listen is already in use (another trace-compat running? stop it, or choose another address: TRACE_COMPAT_LISTEN=127.0.0.1:8137 make run)" >&2
  exit 1
fi

scripts/install-deps.sh
echo "run: building trace-compat (release; the first build takes a few minutes)…" >&2
"$swift" build -c release --product trace-compat
bin="$("$swift" build -c release --show-bin-path)/trace-compat"
mkdir -p "$(dirname "$report")"

# Does an agent answer GET /info on the upstream? (2 s, TCP or unix socket)
agent_answers() {
  local url=$1
  case $url in
    none) return 1 ;;
    unix://*) [ -S "${url#unix://}" ] && curl -sf --max-time 2 --unix-socket "${url#unix://}" http://agent/info >/dev/null ;;
    *) curl -sf --max-time 2 "${url%/}/info" >/dev/null ;;
  esac
}

args=(proxy --listen "$listen" --report "$report")
[ -f "$config" ] && args+=(--config "$config")
if agent_answers "$upstream"; then
  args+=(--upstream "$upstream")
  mode="forwarding to the Datadog Agent at $upstream"
else
  args+=(--upstream none)
  mode="SINK MODE: no Datadog Agent answered $upstream/info, so NOTHING IS FORWARDED (traffic is only audited).
      Start an agent there (or set TRACE_COMPAT_UPSTREAM) and run again to forward."
fi
# shellcheck disable=SC2206
args+=(${TRACE_COMPAT_ARGS:-})

case $listen in
  unix://*) app_url=$listen; admin="(admin routes on the same socket: curl --unix-socket ${listen#unix://} http://x/compat/report.html)" ;;
  *) app_url="http://$listen"; admin="$app_url/compat/report.html  (JSON: /compat/report.json, health: /compat/health, Prometheus: /metrics)" ;;
esac
cat >&2 <<MSG

trace-compat proxy — $mode
  Point your apps at it:   DD_TRACE_AGENT_URL=$app_url
                           (unix socket instead: TRACE_COMPAT_LISTEN=unix:///tmp/trace-compat.sock make run,
                            then DD_TRACE_AGENT_URL=unix:///tmp/trace-compat.sock)
  Live report:             $admin
  Report files:            $report (+ .md and .html beside it), written periodically and on Ctrl-C;
                           a new run continues it (TRACE_COMPAT_ARGS=--fresh make run starts over)
  Config:                  $( [ -f "$config" ] && echo "$config" || echo "(no Config/trace-compat.yaml: built-in defaults)" )
  The CLI:                 $bin  (\`make install\` puts it on PATH as trace-compat)
                           e.g. $bin report check $report --fail-on breaks

MSG
exec "$bin" "${args[@]}"
