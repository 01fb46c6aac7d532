#!/usr/bin/env bash
# Forwarding cost per request at a paced rate (issue 15): CPU (task-clock), context switches,
# syscalls and mallocs of the intermediary alone (the stub and the replayer are not counted).
#   Benchmarks/scripts/forwarding-cost.sh tc    [BINARY]   # trace-compat proxy --no-analysis
#   Benchmarks/scripts/forwarding-cost.sh nginx [NGINX]    # nginx proxy_pass, the harness's config
# knobs: RATE=1000 SECS=10 CONN=8 PAYLOAD=…/manual-v04/001-POST-v0.4_traces.msgpack
#        TOOL=trace-replay binary: the replayer and its stub (default: .build/release/trace-replay;
#             `swift build -c release --product trace-replay`)
#        EXTRA="proxy flags" (tc only; they come after --no-analysis, so EXTRA=--analysis measures
#             with analysis on, the analysis thread's CPU included)
# Counts are what to compare on a loaded machine; CPU µs move with the load. Needs root for strace
# on another process and for the malloc uprobe (`perf probe -x libc.so.6 --add malloc`, added once).
set -euo pipefail
KIND=$1
BIN=${2:-$([ "$KIND" = nginx ] && echo /usr/sbin/nginx || echo .build/release/trace-compat)}
TOOL=${TOOL:-.build/release/trace-replay}
RATE=${RATE:-1000}; SECS=${SECS:-10}; CONN=${CONN:-8}
PAYLOAD=${PAYLOAD:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/fixtures/manual-v04/001-POST-v0.4_traces.msgpack}
OUT=$(mktemp -d /tmp/forwarding-cost.XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
SP=$(free_port); PP=$(free_port)
"$TOOL" --serve --listen 127.0.0.1:$SP --threads 1 > $OUT/stub.log 2>&1 & STUB=$!
wait_port $SP
case $KIND in
  tc) "$BIN" proxy --listen 127.0.0.1:$PP --upstream http://127.0.0.1:$SP --report $OUT/report.json --fresh \
          --flush-interval 3600 --analysis-threads 1 --no-analysis ${EXTRA:-} > $OUT/proxy.log 2>&1 & MID=$!
      wait_port $PP; PIDS=$MID ;;
  nginx) R=$OUT/nginx; mkdir -p $R
      python3 "$(dirname "$0")/../harness/nginx_conf.py" $R $PP $SP 2 > $R/nginx.conf  # the harness's nginx
      "$BIN" -p $R -c $R/nginx.conf -e $R/error.log > $OUT/proxy.log 2>&1 & MID=$!
      wait_port $PP; sleep 0.5; PIDS=$(echo $MID $(pgrep -P $MID) | tr ' ' ,) ;;
  *) echo "KIND: tc or nginx" >&2; exit 64 ;;
esac
trap 'kill $MID $STUB 2>/dev/null || true' EXIT
replay() { "$TOOL" "$PAYLOAD" --target http://127.0.0.1:$PP --connections $CONN --json --quiet "$@"; }
replay --count 3000 > /dev/null   # warm up: connections, pools, caches
perf stat -p $PIDS -e task-clock,context-switches -x, -o $OUT/perf.csv -- \
    "$TOOL" "$PAYLOAD" --target http://127.0.0.1:$PP --connections $CONN --json --quiet --rate $RATE --duration $SECS > $OUT/perf-run.json
strace -c -f -p $(echo $PIDS | sed 's/,/ -p /g') -o $OUT/strace.txt 2>/dev/null & ST=$!
sleep 1
replay --rate $RATE --duration $SECS > $OUT/strace-run.json
kill -INT $ST; wait $ST || true
if ! perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc'; then
    # libc as /bin/sh links it (python3 may be a static build, as pyenv's is here)
    perf probe -q -x "$(ldd /bin/sh | awk '/libc.so.6/ {print $3}')" --add malloc || true
fi
perf stat -p $PIDS -e probe_libc:malloc -x, -o $OUT/malloc.csv -- \
    "$TOOL" "$PAYLOAD" --target http://127.0.0.1:$PP --connections $CONN --json --quiet --rate $RATE --duration $SECS > $OUT/malloc-run.json 2>/dev/null || true
python3 - $OUT $KIND <<'PY'
import json, re, sys
out, kind = sys.argv[1], sys.argv[2]
def run(name):
    try: return json.load(open(f"{out}/{name}"))
    except (OSError, ValueError): return None
def counters(name):
    values = {}
    try:
        for line in open(f"{out}/{name}"):
            f = line.strip().split(",")
            if len(f) > 3 and not line.startswith("#"):
                try: values[f[2]] = float(f[0])
                except ValueError: pass
    except OSError: pass
    return values
p, s, m = run("perf-run.json"), run("strace-run.json"), run("malloc-run.json")
perf = counters("perf.csv")
calls = {}
for line in open(f"{out}/strace.txt"):
    g = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
    if g and g.group(2) != "total": calls[g.group(2)] = int(g.group(1))
n, ns = p["requests"], s["requests"]
print(f"{kind}: {n} requests at {p['requestsPerSecond']:.0f}/s, p99 {p['latencyMs']['p99']} ms, errors {p['non2xx'] + p['unanswered']}")
print(f"  CPU {perf.get('task-clock', 0) * 1000 / n:.1f} µs/request, context switches {perf.get('context-switches', 0) / n:.2f}/request")
print(f"  syscalls {sum(calls.values()) / ns:.2f}/request: " + ", ".join(f"{k} {v / ns:.2f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v / ns >= 0.01))
mallocs = counters("malloc.csv").get("probe_libc:malloc")
if m and mallocs is not None: print(f"  mallocs {mallocs / m['requests']:.1f}/request")
PY
rm -rf $OUT
