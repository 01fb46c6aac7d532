#!/usr/bin/env python3
"""Turns `swift package benchmark --target DecoderBenchmarks` text output into the RESULTS.md table.

    python3 Benchmarks/scripts/summarize.py < benchmark-output.txt

MB/s is the custom metric (bytes of the payload x decodes / seconds), p50 and best (p0) of all
iterations; spans/s follows from it; allocations are the framework's malloc count per decode.
"""
import re
import sys

text = sys.stdin.read()
blocks = re.split(r'\n(?=(?:ours|msgpack-c) [^\n]*spans\)\n)', text)
results = {}
for block in blocks:
    m = re.match(r'(ours|msgpack-c) (\S+) \(([^,]+), (\d+) spans\)', block)
    if not m:
        continue
    side, name, size, spans = m.groups()

    def row(metric):
        r = re.search(r'│ ' + re.escape(metric) + r'[^│]*│([^\n]*)', block)
        return [x.strip() for x in r.group(1).split('│') if x.strip()]

    mbs = row('MB/s')
    results[(side, name)] = dict(size=size, spans=int(spans), p0=int(mbs[0]), p50=int(mbs[2]),
                                 samples=int(mbs[7]), mallocs=int(row('Malloc (total) *')[2]))

def bytes_of(size):
    v, unit = size.split()
    return float(v) * (1e6 if unit == 'MB' else 1e3)

print('| payload | size | spans | ours MB/s p50 (best) | msgpack-c MB/s p50 (best) | ratio p50 (best) '
      '| ours spans/s p50 | msgpack-c spans/s p50 | allocations per decode: ours / msgpack-c | ours allocations per span |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
for name in sorted({n for _, n in results}, key=lambda n: (n == 'generated-v04', n)):
    o, c = results[('ours', name)], results[('msgpack-c', name)]
    per_mb = o['spans'] / bytes_of(o['size']) * 1e6
    print(f"| {name} | {o['size']} | {o['spans']:,} | {o['p50']:,} ({o['p0']:,}) | {c['p50']:,} ({c['p0']:,}) "
          f"| {o['p50'] / c['p50']:.2f}x ({o['p0'] / c['p0']:.2f}x) | {o['p50'] * per_mb:,.0f} | {c['p50'] * per_mb:,.0f} "
          f"| {o['mallocs']} / {c['mallocs']} | {o['mallocs'] / o['spans']:.0f} |")
