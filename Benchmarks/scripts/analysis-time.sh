#!/usr/bin/env bash
# CPU time per payload, the Analyzer vs msgpack-c's unpack of the same bytes: `perf stat -e
# task-clock` of an `analysis-profile` run of N payloads minus a run of N/10 (start-up and fixture
# loading cancel), over 0.9 N. Each round runs every build given, then msgpack-c (with the first
# build's binary: the same C code in each), one after the other, so that the machine's load falls
# on all sides alike; medians over the rounds. Time is the judge where the instruction count is not
# (Benchmarks/RESULTS.md, "Instruction cache"): this VM has no hardware counters. The last
# columns are the ratios of the fastest rounds: other processes only ever slow a round down, and
# on this shared VM the rounds of one binary fall in two groups up to 1.8x apart (neither the
# stack's place nor the hash seed decides it: RESULTS.md, "Small payloads in time"), so the
# medians move with how many rounds land in each; the fastest rounds compare the builds in the
# same, least disturbed, state.
#   Benchmarks/scripts/analysis-time.sh [PAYLOAD…]      (default: every fixture payload)
#   BINS="before=/tmp/ap-before after=.build/release/analysis-profile" ROUNDS=3 N=20000 N_LARGE=1000
set -euo pipefail
cd "$(dirname "$0")/.."
bins=(${BINS:-ours=.build/release/analysis-profile})
rounds=${ROUNDS:-3}
payloads=("$@")
if [ ${#payloads[@]} -eq 0 ]; then
    payloads=($(ls "${TRACE_COMPAT_FIXTURES:-../../shared/fixtures}" | grep -v '^generate$'))
fi
tc() { perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ { print $1 }'; }  # ms
per() {  # binary side payload n → µs per payload
    local long short
    long=$(tc "$1" "$2" "$3" "$4")
    short=$(tc "$1" "$2" "$3" $(( $4 / 10 )))
    echo "($long - $short) * 1000 / ($4 - $4 / 10)" | bc -l
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
least() { printf '%s\n' "$@" | sort -g | head -1; }
first=${bins[0]#*=}
printf '%-20s' payload; for b in "${bins[@]}"; do printf ' %26s' "${b%%=*} µs"; done
printf ' %26s' 'msgpack-c µs'; for b in "${bins[@]}"; do printf ' %9s' "${b%%=*}/C"; done
for b in "${bins[@]}"; do printf ' %9s' "min ${b%%=*}/C"; done; echo
for p in "${payloads[@]}"; do
    case $p in django*) n=${N_LARGE:-1000} ;; *) n=${N:-20000} ;; esac
    declare -A t=()
    for r in $(seq "$rounds"); do
        for b in "${bins[@]}"; do t[${b%%=*}]+=" $(per "${b#*=}" ours "$p" "$n")"; done
        t[C]+=" $(per "$first" msgpack-c "$p" "$n")"
    done
    printf '%-20s' "$p"
    for b in "${bins[@]}" C=; do
        k=${b%%=*}; m=$(median ${t[$k]})
        printf ' %8.2f (%s)' "$m" "$(printf '%.2f ' ${t[$k]} | sed 's/ $//')"
    done
    c=$(median ${t[C]})
    for b in "${bins[@]}"; do printf ' %9.2f' "$(echo "$(median ${t[${b%%=*}]}) / $c" | bc -l)"; done
    c=$(least ${t[C]})
    for b in "${bins[@]}"; do printf ' %9.2f' "$(echo "$(least ${t[${b%%=*}]}) / $c" | bc -l)"; done
    echo
    unset t
done
