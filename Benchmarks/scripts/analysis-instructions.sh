#!/usr/bin/env bash
# Instructions per payload, the Analyzer vs msgpack-c's unpack of the same bytes, counted by
# callgrind: a measure that does not move with the machine's load. Ours is `analyseOurs` (the
# request as the proxy hands it over: decode, every rule, findings folded for the store, hand-overs
# included); msgpack-c's is `decodeMsgpackC` (msgpack_unpack_next into a zone plus a walk).
#   Benchmarks/scripts/analysis-instructions.sh [PAYLOAD…]     (default: every fixture payload)
# With CACHE_SIM=1, callgrind also simulates the caches (`--cache-sim=yes`: 32 KiB 8-way L1i and
# L1d, 64-byte lines) and the table gains the L1 instruction-cache misses per payload and the code
# run (KiB of 64-byte lines executed once per payload or more, runtime and libc included): what an instruction
# count does not see when the code run per payload outgrows the L1i (RESULTS.md, "Instruction
# cache"). This VM has no hardware counters, so the simulation is the guide.
# Needs the release build of analysis-profile (`swift build -c release --product analysis-profile`).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ANALYSIS_PROFILE:-.build/release/analysis-profile}
work=.build/profile
mkdir -p "$work"
cp "$bin" "$work/analysis-profile"
strip --strip-debug "$work/analysis-profile"  # valgrind 3.19 cannot read Swift's DWARF 5
symbol() { nm "$bin" | awk -v n="$1" '!done && $2 == "T" && index($3, n) && $3 ~ /F$/ { print $3; done = 1 }'; }
ours_symbol=$(symbol 17AnalysisWorkloads11analyseOurs)
c_symbol=$(symbol 16DecoderWorkloads14decodeMsgpackC)
cache=${CACHE_SIM:-0}
sim=()
[ "$cache" = 1 ] && sim=(--cache-sim=yes --I1=32768,8,64 --D1=32768,8,64 --dump-instr=yes --compress-pos=no --compress-strings=no)
payloads=("$@")
if [ ${#payloads[@]} -eq 0 ]; then
    payloads=($(ls "${TRACE_COMPAT_FIXTURES:-../../shared/fixtures}" | grep -v '^generate$'))
fi
count() {  # side symbol payload iterations → instructions (and I1 misses) per payload
    local out
    out=$(valgrind --tool=callgrind "${sim[@]}" --toggle-collect="$2" --callgrind-out-file="$work/cg.analysis.$1.$3" \
        "$work/analysis-profile" "$1" "$3" "$4" 2>&1 | sed -n 's/.*Collected : \([0-9 ]*\).*/\1/p')
    # Events: Ir, or with the simulation Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw (zeros at the end left out).
    local file="$work/cg.analysis.$1.$3" n=$4
    set -- $out
    if [ "$cache" = 1 ]; then echo $(( $1 / n )) $(( ${4:-0} / n )) "$(footprint "$file" "$n")"; else echo $(( $1 / n )); fi
}
footprint() {  # callgrind file (--dump-instr) and iterations → KiB of code run on every payload
    # Rows are "address line Ir …"; a 64-byte line counts when its instructions ran at least once
    # per payload on average (what the L1i must hold from one payload to the next), the calls'
    # inclusive rows left out.
    python3 - "$1" "$2" <<'PY'
import sys, collections
ir = collections.Counter(); after_call = False
for row in open(sys.argv[1]):
    if row.startswith("calls="): after_call = True; continue
    if row.startswith("0x"):
        pos, *costs = row.split()
        if not after_call and len(costs) > 1: ir[int(pos, 16) >> 6] += int(costs[1])
        after_call = False
print(f"{sum(1 for n in ir.values() if n >= int(sys.argv[2])) * 64 / 1024:.1f}")
PY
}
if [ "$cache" = 1 ]; then
    printf '%-22s %14s %14s %9s %10s %10s %10s %10s\n' payload analysis msgpack-c 'ours/C' 'I1 ours' 'I1 C' 'KiB ours' 'KiB C'
else
    printf '%-22s %14s %14s %9s\n' payload analysis msgpack-c 'ours/C'
fi
for p in "${payloads[@]}"; do
    # Whole hand-over intervals (`handOverEvery` in AnalysisWorkloads divides 1,000): the
    # hand-over's cost is then in the count, as a thread analysing 1,000 payloads/s pays it.
    n=${N:-1000}
    read -r o oi ok <<<"$(count ours "$ours_symbol" "$p" $n)"
    read -r c ci ck <<<"$(count msgpack-c "$c_symbol" "$p" $n)"
    if [ "$cache" = 1 ]; then
        printf '%-22s %14d %14d %9.2f %10d %10d %10s %10s\n' "$p" "$o" "$c" "$(echo "$o / $c" | bc -l)" "$oi" "$ci" "$ok" "$ck"
    else
        printf '%-22s %14d %14d %9.2f\n' "$p" "$o" "$c" "$(echo "$o / $c" | bc -l)"
    fi
done
