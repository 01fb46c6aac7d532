#!/usr/bin/env bash
# Instructions per decode, ours vs msgpack-c, counted by callgrind: a measure that does not move
# with the machine's load (wall clock on a shared 2-core VM varies by ±30% between runs).
#   Benchmarks/scripts/instructions.sh [PAYLOAD…]     (default: every fixture and generated-v04)
# Needs the release build of decoder-profile (`swift build -c release --product decoder-profile`).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release/decoder-profile
work=.build/profile
mkdir -p "$work"
cp "$bin" "$work/decoder-profile"
strip --strip-debug "$work/decoder-profile"  # valgrind 3.19 cannot read Swift's DWARF 5
ours_symbol='$s16DecoderWorkloads10decodeOursys6UInt64V12TracePayload0fgA0Vz_SWAE0F6FormatOtF'
c_symbol='$s16DecoderWorkloads14decodeMsgpackCys6UInt64VSWF'
payloads=("$@")
if [ ${#payloads[@]} -eq 0 ]; then
    payloads=($(ls "${TRACE_COMPAT_FIXTURES:-../../shared/fixtures}" | grep -v '^generate$') generated-v04)
fi
count() {  # side symbol payload iterations → instructions per decode
    local out
    out=$(valgrind --tool=callgrind --toggle-collect="$2" --callgrind-out-file="$work/cg.$1.$3" \
        "$work/decoder-profile" "$1" "$3" "$4" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    echo $(( out / $4 ))
}
printf '%-22s %14s %14s %7s\n' payload ours msgpack-c ratio
for p in "${payloads[@]}"; do
    n=50; [ "$p" = generated-v04 ] && n=2
    o=$(count ours "$ours_symbol" "$p" $n)
    c=$(count msgpack-c "$c_symbol" "$p" $n)
    printf '%-22s %14d %14d %7.2f\n' "$p" "$o" "$c" "$(echo "$c / $o" | bc -l)"
done
