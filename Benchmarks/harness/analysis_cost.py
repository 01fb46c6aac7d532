#!/usr/bin/env python3
"""Analysis CPU per payload IN THE PROXY at a paced rate (issue 12): trace-compat with analysis on
minus the same binary with --no-analysis, both measured over the same paced replay, for one or
more binaries (before/after in the same run), interleaved over several rounds (medians reported,
since the machine is shared and noisy).

Per run: the proxy's CPU (sum of /proc/PID/task/*/schedstat run time, nanoseconds, so no 10 ms
tick rounding), the CPU and the context switches (voluntary + involuntary, /proc/.../status) of
the analysis threads alone (kernel names `tc-analysis-N`), payloads analysed and not_analysed
(the report's counters once /compat/health says analysis is idle). Loopback only; every process
started is stopped at the end.

  python3 Benchmarks/harness/analysis_cost.py --replay trace-replay \
      --binary before=/path/to/old/trace-compat --binary after=.build-rel/release/trace-compat \
      --payload ../shared/fixtures/manual-v04 --rate 1000 --seconds 10 --rounds 3 [--priority low] [--perf-record DIR]

Against the msgpack-c floor in the proxy (`make bench-analysis-proxy`): add the Benchmarks
package's `trace-compat-msgpackc` (the same proxy whose analysis threads only unpack each trace
payload with msgpack-c) as one more binary and name it with --baseline; then each binary's
analysis costs are also given as ratios to it, per round (same round, interleaved) and of the
medians:

  python3 Benchmarks/harness/analysis_cost.py --replay .build-rel/release/trace-replay \
      --binary ours=.build-rel/release/trace-compat \
      --binary msgpack-c=Benchmarks/.build/release/trace-compat-msgpackc --baseline msgpack-c \
      --payload ../shared/fixtures/manual-v04 --rate 1000 --seconds 10 --rounds 3

--perf-record DIR: also records `perf record -g` of the analysing proxy over each run into DIR
(one file per binary and round) to see where the per-payload cost goes.
"""
import argparse
import atexit
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# The harness's process handling (every process started is stopped at exit).
from proxy_bench import cleanup, free_port, http_json, start, stop, wait_port


def settle(port, timeout=60):
    """Waits until /compat/health says analysis is idle (nothing queued, nothing in flight)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if http_json(f"http://127.0.0.1:{port}/compat/health").get("analysis", {}).get("idle", True):
            return
        time.sleep(0.05)
    raise RuntimeError("analysis never idle")


def threads(pid):
    """{tid: (comm, cpu ns, context switches)} of one process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            switches = 0
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
        except (OSError, ValueError):
            continue
        out[tid] = (comm, ns, switches)
    return out


def delta(before, after, analysis_only):
    ns = sw = 0
    for tid, (comm, n, s) in after.items():
        if analysis_only and not comm.startswith("tc-analysis-"):
            continue
        _, n0, s0 = before.get(tid, (comm, 0, 0))
        ns += n - n0
        sw += s - s0
    return ns, sw


def counts(port):
    r = http_json(f"http://127.0.0.1:{port}/compat/report.json")
    t = r.get("traffic", {})
    return sum(t.get("trace_payloads", {}).values()), sum(t.get("not_analysed", {}).values())


def replay(a, port, **kw):
    args = [a.replay, *a.payload, "--traces-only", "--target", f"http://127.0.0.1:{port}", "--connections", str(a.connections),
            "--json", "--quiet"]
    for k, v in kw.items():
        args += [f"--{k}", str(v)]
    r = subprocess.run(args, capture_output=True, text=True)
    return json.loads(r.stdout)


def one_run(a, tmp, name, binary, analysis, stub_port, round_no):
    port = free_port()
    args = [binary, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{stub_port}",
            "--report", os.path.join(tmp, f"r-{port}.json"), "--fresh", "--flush-interval", "3600", "--analysis-threads", "1"]
    if not analysis:
        args.append("--no-analysis")
    if a.priority:
        args += ["--analysis-priority", a.priority]
    p = start(args, os.path.join(tmp, f"proxy-{port}.log"))
    try:
        wait_port(port, p)
        replay(a, port, count=a.warmup)
        settle(port)
        pay0, not0 = counts(port)
        t0 = threads(p.pid)
        perf = None
        if a.perf_record and analysis:
            out = os.path.join(a.perf_record, f"{name}-r{round_no}.data")
            perf = subprocess.Popen(["perf", "record", "-g", "-F", "2000", "-e", "cpu-clock", "-p", str(p.pid), "-o", out],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        run = replay(a, port, rate=a.rate, duration=a.seconds)
        settle(port)
        t1 = threads(p.pid)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        pay1, not1 = counts(port)
        total_ns, _ = delta(t0, t1, False)
        an_ns, an_sw = delta(t0, t1, True)
        ok, analysed = run["ok"], pay1 - pay0
        return {"binary": name, "analysis": analysis, "round": round_no, "ok": ok, "achieved": run["requestsPerSecond"],
                "cpu_us_per_request": total_ns / ok / 1e3,
                # per payload analysed (the ones not_analysed cost the thread nothing)
                "analysis_thread_us_per_payload": an_ns / analysed / 1e3 if analysed else None,
                "analysis_switches_per_payload": an_sw / analysed if analysed else None,
                "payloads": analysed, "not_analysed": not1 - not0, "load": os.getloadavg()[0]}
    finally:
        stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replay", required=True)
    ap.add_argument("--binary", action="append", required=True, help="name=path")
    ap.add_argument("--payload", action="append", required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--priority", default=None)
    ap.add_argument("--perf-record", default=None)
    ap.add_argument("--json", default=None, help="write every run here")
    ap.add_argument("--baseline", default=None, help="the binary (by name) the others are given as ratios to")
    a = ap.parse_args()
    binaries = [b.split("=", 1) for b in a.binary]
    if a.baseline is not None and a.baseline not in [name for name, _ in binaries]:
        ap.error(f"--baseline {a.baseline}: no --binary by that name")
    tmp = tempfile.mkdtemp(prefix="analysis-cost-")
    if a.perf_record:
        os.makedirs(a.perf_record, exist_ok=True)
    stub_port = free_port()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    stub = start([a.replay, "--serve", "--listen", f"127.0.0.1:{stub_port}", "--threads", "1"], os.path.join(tmp, "stub.log"))
    wait_port(stub_port, stub)
    runs = []
    for r in range(a.rounds):
        for name, path in binaries:
            for analysis in (True, False):
                run = one_run(a, tmp, name, path, analysis, stub_port, r)
                runs.append(run)
                print(json.dumps(run), file=sys.stderr, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(runs, f, indent=1)

    def med(xs):
        xs = [x for x in xs if x is not None]
        return statistics.median(xs) if xs else float("nan")
    print(f"payload {', '.join(a.payload)} at {a.rate:g}/s for {a.seconds:g} s, {a.rounds} rounds, medians"
          f"{' (priority ' + a.priority + ')' if a.priority else ''}")
    print("| binary | CPU µs/request, analysis on | --no-analysis | analysis (on − off, per round) | analysis thread µs per payload analysed | "
          "analysis thread context switches per payload analysed | not_analysed (sum) |")
    print("|---|---:|---:|---:|---:|---:|---:|")

    def costs(name):
        """Per round: (on − off µs per request, analysis thread µs per payload), in round order."""
        on = [x for x in runs if x["binary"] == name and x["analysis"]]
        off = [x for x in runs if x["binary"] == name and not x["analysis"]]
        return ([x["cpu_us_per_request"] - y["cpu_us_per_request"] for x, y in zip(on, off)],
                [x["analysis_thread_us_per_payload"] for x in on], on, off)

    for name, _ in binaries:
        diffs, _, on, off = costs(name)
        print(f"| {name} | {med([x['cpu_us_per_request'] for x in on]):.1f} | {med([x['cpu_us_per_request'] for x in off]):.1f} | "
              f"{med(diffs):.1f} ({', '.join(f'{d:.0f}' for d in diffs)}) | {med([x['analysis_thread_us_per_payload'] for x in on]):.1f} | "
              f"{med([x['analysis_switches_per_payload'] for x in on]):.3f} | {sum(x['not_analysed'] for x in on)} |")
    if a.baseline is None:
        return

    def ratio(x, y):
        """None when either is missing or the baseline's cost is not positive (on − off is a
        difference of two noisy measures and can come out ≤ 0 for a cost this small)."""
        return x / y if x is not None and y is not None and y > 0 else None

    def show(xs):
        return ", ".join("-" if x is None else f"{x:.2f}" for x in xs)

    base_diffs, base_thread, _, _ = costs(a.baseline)
    print()
    print(f"Ratios to {a.baseline} (≤ 1.00 meets the floor): of the medians, and per round (same round, interleaved)")
    print(f"| binary | analysis thread µs per payload / {a.baseline} | per round | on − off µs per request / {a.baseline} | per round |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in binaries:
        if name == a.baseline:
            continue
        diffs, thread, _, _ = costs(name)
        thread_rounds = [ratio(x, y) for x, y in zip(thread, base_thread)]
        diff_rounds = [ratio(x, y) for x, y in zip(diffs, base_diffs)]
        print(f"| {name} | {show([ratio(med(thread), med(base_thread))])} | {show(thread_rounds)} | "
              f"{show([ratio(med(diffs), med(base_diffs))])} | {show(diff_rounds)} |")

if __name__ == "__main__":
    main()
