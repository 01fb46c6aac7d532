#!/usr/bin/env bash
# Instructions per payload, the Analyzer vs msgpack-c's unpack of the same bytes, counted by
# callgrind: a measure that does not move with the machine's load. Ours is `analyseOurs` (the
# request as the proxy hands it over: decode, every rule, findings folded for the store, hand-overs
# included); msgpack-c's is `decodeMsgpackC` (msgpack_unpack_next into a zone plus a walk).
#   Benchmarks/scripts/analysis-instructions.sh [PAYLOAD…]     (default: every fixture payload)
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
payloads=("$@")
if [ ${#payloads[@]} -eq 0 ]; then
    payloads=($(ls "${TRACE_COMPAT_FIXTURES:-../../shared/fixtures}" | grep -v '^generate$'))
fi
count() {  # side symbol payload iterations → instructions per payload
    local out
    out=$(valgrind --tool=callgrind --toggle-collect="$2" --callgrind-out-file="$work/cg.analysis.$1.$3" \
        "$work/analysis-profile" "$1" "$3" "$4" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    echo $(( out / $4 ))
}
printf '%-22s %14s %14s %9s\n' payload analysis msgpack-c 'ours/C'
for p in "${payloads[@]}"; do
    n=200
    o=$(count ours "$ours_symbol" "$p" $n)
    c=$(count msgpack-c "$c_symbol" "$p" $n)
    printf '%-22s %14d %14d %9.2f\n' "$p" "$o" "$c" "$(echo "$o / $c" | bc -l)"
done
