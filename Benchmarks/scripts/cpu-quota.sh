#!/usr/bin/env bash
# What a CPU limit (a CFS quota, what Kubernetes' `limits.cpu` sets) does to forwarding when
# analysis has a backlog. SCHED_IDLE keeps analysis off a CPU that forwarding wants, but its
# CPU time still counts against the cgroup's quota; once the quota of a period is spent, the
# whole cgroup waits for the next period, forwarding's event loops included.
# The proxy runs alone in a cgroup with QUOTA_MS of CPU per 100 ms; Django payloads at LOAD_RATE
# give analysis a backlog; a probe of small payloads at 200/s measures forwarding's latency.
# Rounds alternate --no-analysis and analysis on; each prints the periods throttled and the
# probe's latency.
#   sudo Benchmarks/scripts/cpu-quota.sh [BINARY]     (default: .build/release/trace-compat)
# knobs: QUOTA_MS=100 (1 CPU, the DaemonSet's old limit) LOAD_RATE=1500 SECS=10 ROUNDS=2
#        TOOL=trace-replay binary (default .build/release/trace-replay)
# Needs root and the cgroup v1 cpu controller (/sys/fs/cgroup/cpu) or cgroup v2 (cpu.max).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/.build/release/trace-compat}
TOOL=${TOOL:-$ROOT/.build/release/trace-replay}
QUOTA_MS=${QUOTA_MS:-100}; LOAD_RATE=${LOAD_RATE:-1500}; SECS=${SECS:-10}; ROUNDS=${ROUNDS:-2}
F=${FIXTURES:-$ROOT/../shared/fixtures}
OUT=$(mktemp -d /tmp/cpu-quota.XXXXXX)
if [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    CG=/sys/fs/cgroup/cpu/trace-compat-quota.$$; mkdir "$CG"
    echo 100000 > "$CG/cpu.cfs_period_us"; echo $((QUOTA_MS * 1000)) > "$CG/cpu.cfs_quota_us"
    throttled() { awk '/^nr_throttled/ { n = $2 } /^throttled_time/ { t = $2 / 1e6 } END { print n, t }' "$CG/cpu.stat"; }
else
    CG=/sys/fs/cgroup/trace-compat-quota.$$; mkdir "$CG"
    echo "$((QUOTA_MS * 1000)) 100000" > "$CG/cpu.max"
    throttled() { awk '/^nr_throttled/ { n = $2 } /^throttled_usec/ { t = $2 / 1e3 } END { print n, t }' "$CG/cpu.stat"; }
fi
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rmdir "$CG" 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
SP=$(free_port)
"$TOOL" --serve --listen 127.0.0.1:$SP --threads 1 > "$OUT/stub.log" 2>&1 &
wait_port $SP
printf '%-12s %10s %12s %9s %9s %9s %9s %10s\n' analysis throttled 'waited ms' 'p50 ms' 'p99 ms' 'p99.9 ms' 'max ms' 'load avg'
for r in $(seq "$ROUNDS"); do
    for mode in off on; do
        PP=$(free_port)
        flags=(proxy --listen 127.0.0.1:$PP --upstream http://127.0.0.1:$SP --report "$OUT/report.json" --fresh --flush-interval 3600)
        [ $mode = off ] && flags+=(--no-analysis)
        # The proxy is started inside the cgroup (its threads inherit it).
        sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$CG" "$BIN" "${flags[@]}" > "$OUT/proxy.log" 2>&1 &
        P=$!
        wait_port $PP
        read -r n0 t0 < <(throttled)
        "$TOOL" --traces-only --target http://127.0.0.1:$PP --rate "$LOAD_RATE" --connections 8 --duration "$SECS" --quiet \
            "$F/django-full-v04" "$F/django-full-v05" "$F/django-minimal-v04" > "$OUT/load.txt" 2>&1 &
        L=$!
        "$TOOL" --traces-only --target http://127.0.0.1:$PP --rate 200 --connections 4 --duration "$SECS" --json --quiet \
            "$F/manual-v04" > "$OUT/probe.json"
        wait $L
        read -r n1 t1 < <(throttled)
        kill $P; wait $P 2>/dev/null || true
        python3 - "$OUT/probe.json" "$mode" $((n1 - n0)) "$(echo "$t1 - $t0" | bc)" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
lat = json.load(open(sys.argv[1]))["latencyMs"]
print(f"{sys.argv[2]:<12} {sys.argv[3]:>10} {float(sys.argv[4]):>12.0f} {lat['p50']:>9.2f} {lat['p99']:>9.2f} {lat['p999']:>9.2f} {lat['max']:>9.2f} {sys.argv[5]:>10}")
PY
    done
done
