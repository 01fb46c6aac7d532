#!/usr/bin/env bash
# Proxy overhead harness (issues 6, 15): `make bench-proxy`, or Benchmarks/harness/run.sh from the repo root.
# Builds trace-compat and trace-replay (release), installs Debian nginx if missing, then runs proxy_bench.py:
# trace-replay → stub directly, through trace-compat (analysis on / --no-analysis), nginx proxy_pass and
# ddapm-test-agent, with small, medium and large payloads: max throughput, latency at a fixed rate, CPU per
# request at a paced rate. Loopback only, free ports; everything started is stopped at the end.
# Output: Markdown on stdout and in Benchmarks/.build/proxy-results.md (+ .json: every result as named records).
# Knobs (environment): DURATION=10 CONNECTIONS=4 RATE_CONNECTIONS=8 MIXES=small,medium,large
#                      PATHS=tc,direct,tc-noan,tc-low,nginx,testagent FIXTURES=../shared/fixtures
#                      PACED_RATE=1000 (req/s of the CPU-per-request runs) PACED_MBPS=200 (caps it for big payloads)
#                      FIXED_RATES=small=N,medium=N,large=N (latency rates; default: ½ of the max of CALIBRATE_ON,
#                        calibrated before the measured runs)  CALIBRATE_ON=tc|nginx (default tc)  NGINX_WORKERS=2
#                      BIN=/path/to/trace-compat  benchmark that binary as is (no build), e.g. an older build
#                      REPLAY=/path/to/trace-replay  the load generator (default: built from this tree)
#                      ANALYSIS_THREADS=N trace-compat's --analysis-threads on the analysing paths (default: unset, the
#                        proxy's own default, one per core at idle priority; 1 was the harness's value before 2026-11-29)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FIXTURES=${FIXTURES:-$ROOT/../shared/fixtures}
OUT=$ROOT/Benchmarks/.build/proxy-results.md
SCRATCH=${SCRATCH_PATH:-.build}
mkdir -p Benchmarks/.build

if [ -z "${BIN:-}" ]; then
    echo "== building trace-compat (release, --scratch-path $SCRATCH)" >&2
    ${SWIFT:-swift} build -c release --scratch-path "$SCRATCH" --product trace-compat >&2
    BIN=$ROOT/$SCRATCH/release/trace-compat
fi
[ -x "$BIN" ] || { echo "BIN=$BIN: not an executable" >&2; exit 1; }
if [ -z "${REPLAY:-}" ]; then
    echo "== building trace-replay (release, --scratch-path $SCRATCH)" >&2
    ${SWIFT:-swift} build -c release --scratch-path "$SCRATCH" --product trace-replay >&2
    REPLAY=$ROOT/$SCRATCH/release/trace-replay
fi
[ -x "$REPLAY" ] || { echo "REPLAY=$REPLAY: not an executable" >&2; exit 1; }

NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ -z "$NGINX" ]; then
    echo "== installing Debian nginx-light" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get install -y --no-install-recommends nginx-light >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y --no-install-recommends nginx-light >&2; }
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi

TEST_AGENT=
if [ -x "$ROOT/.venv/bin/ddapm-test-agent" ]; then
    TEST_AGENT=$ROOT/.venv/bin/ddapm-test-agent
else
    echo "== no .venv/bin/ddapm-test-agent (scripts/e2e/setup-venv.sh creates it): the test agent is skipped" >&2
fi

WORK=$(mktemp -d -t trace-compat-harness-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
python3 Benchmarks/harness/gen_large_payload.py "$WORK/large" >&2

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
# The commit names the tree the harness and trace-replay come from; the binary under test is named apart.
META=$(python3 -c 'import json,sys; print(json.dumps({"machine": sys.argv[1], "date": sys.argv[2], "commit": sys.argv[3]}))' \
    "nproc $(nproc), $CPU, $(free -g | awk '/Mem:/{print $2}') GB RAM, $(uname -sr)" \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Benchmarks/harness || echo '+local changes')")

# proxy_bench.py stops every process it started (atexit, SIGINT/SIGTERM) and removes its temp folder.
python3 Benchmarks/harness/proxy_bench.py --binary "$BIN" --replay "$REPLAY" --nginx "$NGINX" --test-agent "$TEST_AGENT" \
    --fixtures "$FIXTURES" --large "$WORK/large" --out "$OUT" --meta "$META" \
    --duration "${DURATION:-10}" --connections "${CONNECTIONS:-4}" --rate-connections "${RATE_CONNECTIONS:-8}" \
    --paced-rate "${PACED_RATE:-1000}" --paced-mbps "${PACED_MBPS:-200}" --fixed-rates "${FIXED_RATES:-}" \
    --calibrate-on "${CALIBRATE_ON:-tc}" --analysis-threads "${ANALYSIS_THREADS:-}" \
    --nginx-workers "${NGINX_WORKERS:-2}" \
    --mixes "${MIXES:-small,medium,large}" --paths "${PATHS:-tc,direct,tc-noan,tc-low,nginx,testagent}"
