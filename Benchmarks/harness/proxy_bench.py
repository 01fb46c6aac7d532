#!/usr/bin/env python3
"""Proxy overhead harness (issues 6 and 15), driven by Benchmarks/harness/run.sh (`make bench-proxy`).

On loopback, with free ports, for each payload mix (small, medium, large) and each path:
  direct      trace-replay → stub
  tc          trace-replay → trace-compat proxy (analysis on; --analysis-threads N if given, else the proxy's default) → stub
  tc-noan     trace-replay → trace-compat proxy --no-analysis → stub
  tc-low      as tc, with --analysis-priority low (analysis at nice 10 instead of SCHED_IDLE)
  nginx       trace-replay → nginx proxy_pass (keep-alive upstream, HTTP/1.1, no request buffering) → stub
  testagent   trace-replay → ddapm-test-agent --agent-url → stub
it measures
  - the maximum throughput (--connections C, --duration D) and the CPU the intermediary's process
    tree used per request meanwhile;
  - the latency at a fixed rate: half of trace-compat's (analysis on) maximum for that mix, found
    by a calibration run BEFORE the measured runs (or given with --fixed-rates), so that the rate,
    and every number measured at it, does not depend on the order or the subset of --paths;
  - for tc, tc-noan and nginx, a PACED run at the same fixed rate for every path
    (--paced-rate, default 1,000 req/s, lowered for a mix whose bytes at that rate would exceed
    --paced-mbps): the process tree's CPU (user + sys from /proc) per request, once analysis has
    caught up — what a busy node pays per request, as opposed to at full load;
  - peak RSS (VmHWM), and for trace-compat how much of the traffic was analysed and the CPU of its
    analysis threads, found by their kernel names (`tc-analysis-N`, pthread_setname_np).
Before a report snapshot it polls `/compat/health` until `"analysis":{"idle":true}` (bounded; an
older binary without that field is waited for by counting analysed payloads instead). A first pass
checks integrity against a stub keeping SHA-256s of every body (trace-replay --verify).

Every result is a named record (dataclasses below), written as is to the .json beside the
Markdown. Everything it starts is killed at exit.
"""
import argparse
import atexit
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from typing import Optional

import nginx_conf  # Benchmarks/harness/nginx_conf.py: the nginx both benchmarks run

PROCS = []
CLK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {msg}", file=sys.stderr, flush=True)


def cleanup():
    for p in reversed(PROCS):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 5
    for p in PROCS:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, logpath, env=None):
    f = open(logpath, "ab")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_port(port, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def http_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def process_tree(pid):
    """pid and its descendants (nginx master + workers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(path):
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def tree_cpu(pid):
    total = 0.0
    for p in process_tree(pid):
        try:
            total += cpu_seconds(f"/proc/{p}/stat")
        except OSError:
            pass
    return total


ANALYSIS_THREAD_PREFIX = "tc-analysis-"  # ProxyLimits.analysisThreadNamePrefix


def analysis_threads_cpu(pid):
    """CPU seconds of trace-compat's analysis threads, found by their kernel names (`tc-analysis-N`,
    set with pthread_setname_np). Returns (seconds by thread id, how they were found). A binary
    older than the names (its analysis threads are not told apart by the kernel) falls back to
    every thread that is not an event loop (`NIO-…`), and the caller takes the busiest one."""
    named, others = {}, {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm = f.read().strip()
            cpu = cpu_seconds(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            continue
        if comm.startswith(ANALYSIS_THREAD_PREFIX):
            named[tid] = cpu
        elif not comm.startswith("NIO-"):
            others[tid] = cpu
    return (named, "named") if named else (others, "guessed: busiest non-NIO thread")


def analysis_cpu_delta(before, after):
    """CPU seconds of analysis between two `analysis_threads_cpu` readings: all named threads
    together, or (fallback) the one non-NIO thread that used the most."""
    (b, _), (a, how) = before, after
    deltas = [a[t] - b.get(t, 0.0) for t in a]
    if how == "named":
        return sum(deltas), how
    return max(deltas, default=0.0), how


def tree_hwm_mb(pid):
    """Peak RSS (VmHWM) of the process; for a tree, the sum over its processes."""
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# --- records --------------------------------------------------------------------------------------
@dataclass
class Verification:
    """The stub's view of a `trace-replay --verify` run."""
    bodies_match: bool
    byte_for_byte: bool
    mismatches: list


@dataclass
class ReplayRun:
    """One `trace-replay --json` run, by name (the tool's JSON keys, snake_cased)."""
    requests: int
    ok: int
    non2xx: int
    timeouts: int
    connection_errors: int
    bytes_sent: int
    spans_answered: int
    requests_per_second: float
    megabytes_per_second: float
    spans_per_second: float
    elapsed_s: float
    rate: Optional[float]
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    verification: Optional[Verification]
    exit: int
    load: float

    @classmethod
    def from_json(cls, d, exit_status):
        v = d.get("verification")
        lat = d["latencyMs"]
        return cls(requests=d["requests"], ok=d["ok"], non2xx=d["non2xx"], timeouts=d["timeouts"],
                   connection_errors=d["connectionErrors"], bytes_sent=d["bytesSent"], spans_answered=d["spansAnswered"],
                   requests_per_second=d["requestsPerSecond"], megabytes_per_second=d["megabytesPerSecond"],
                   spans_per_second=d["spansPerSecond"], elapsed_s=d["elapsedSeconds"], rate=d.get("rate"),
                   p50_ms=lat["p50"], p99_ms=lat["p99"], p999_ms=lat["p999"], max_ms=lat["max"],
                   verification=Verification(v["bodiesMatch"], v["byteForByte"], v["mismatches"]) if v else None,
                   exit=exit_status, load=os.getloadavg()[0])

    @property
    def errors(self):
        return self.non2xx + self.timeouts + self.connection_errors


@dataclass
class AnalysisCounts:
    """The report's traffic counters (what analysis saw)."""
    spans: int = 0
    payloads: int = 0
    not_analysed: int = 0

    def __sub__(self, other):
        return AnalysisCounts(self.spans - other.spans, self.payloads - other.payloads, self.not_analysed - other.not_analysed)


@dataclass
class AnalysisRun:
    """What analysis did during one run of an analysing path."""
    counts: AnalysisCounts
    wall_s: Optional[float] = None        # the run plus the time until analysis was idle
    thread_cpu_s: Optional[float] = None  # CPU of the analysis threads
    threads_found: Optional[str] = None   # "named" (tc-analysis-N) or the fallback used
    settled: str = ""                     # how the end of analysis was known


@dataclass
class PacedRun:
    """A run at the paced rate: the intermediary's process-tree CPU per request."""
    rate: float
    run: ReplayRun
    cpu_s: float
    cpu_us_per_request: Optional[float]
    analysis: Optional[AnalysisRun] = None


@dataclass
class Measurement:
    """One path on one mix."""
    path: str
    mix: str
    max: ReplayRun
    fixed_rate: float
    fixed: ReplayRun
    cpu_s: Optional[float] = None            # process tree CPU during the max run
    cpu_us_per_request: Optional[float] = None
    paced: Optional[PacedRun] = None
    rss_mb: Optional[float] = None
    analysis_max: Optional[AnalysisRun] = None
    analysis_fixed: Optional[AnalysisRun] = None


@dataclass
class MixRates:
    """The rates of one mix, fixed before any measured run."""
    mix: str
    mean_request_bytes: float
    fixed: float          # latency runs: half of trace-compat's (analysis on) max
    fixed_source: str
    paced: float          # CPU-per-request runs
    paced_rule: str


@dataclass
class Integrity:
    path: str
    mix: str
    ok: bool
    answered_2xx: int
    requests: int


# --- the harness ----------------------------------------------------------------------------------
class Harness:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="trace-compat-harness-")
        atexit.register(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        self.logs = os.path.join(self.tmp, "logs")
        os.makedirs(self.logs)

    # --- the pieces -------------------------------------------------------------------------
    def stub(self, record_sha):
        port = free_port()
        args = [self.a.replay, "--serve", "--listen", f"127.0.0.1:{port}", "--threads", "1"]
        if record_sha:
            args.append("--record-sha")
        p = start(args, os.path.join(self.logs, f"stub-{port}.log"))
        wait_port(port, p)
        return p, port

    def intermediary(self, kind, upstream_port):
        """Starts one path's middle box; returns (process or None, port, pid to measure)."""
        if kind == "direct":
            return None, upstream_port, None
        port = free_port()
        logpath = os.path.join(self.logs, f"{kind}-{port}.log")
        if kind in TC_PATHS:
            report = os.path.join(self.tmp, f"report-{port}.json")
            args = [self.a.binary, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{upstream_port}",
                    "--report", report, "--fresh", "--flush-interval", "3600"]
            if self.a.analysis_threads:
                args += ["--analysis-threads", self.a.analysis_threads]
            if kind == "tc-noan":
                args.append("--no-analysis")
            if kind == "tc-low":
                args += ["--analysis-priority", "low"]
            p = start(args, logpath)
        elif kind == "nginx":
            root = os.path.join(self.tmp, f"nginx-{port}")
            os.makedirs(root)
            conf = os.path.join(root, "nginx.conf")
            with open(conf, "w") as f:
                f.write(nginx_conf.render(root, port, upstream_port, self.a.nginx_workers))
            p = start([self.a.nginx, "-p", root, "-c", conf, "-e", os.path.join(root, "error.log")], logpath)
        elif kind == "testagent":
            args = [self.a.test_agent, "--host", "127.0.0.1", "--port", str(port), "--agent-url", f"http://127.0.0.1:{upstream_port}",
                    "--otlp-http-port", str(free_port()), "--otlp-grpc-port", str(free_port()), "--log-level", "WARNING"]
            p = start(args, logpath)
        else:
            raise ValueError(kind)
        wait_port(port, p, timeout=60)
        return p, port, p.pid

    def replay(self, paths, port, *, duration=None, count=None, rate=None, connections, verify, timeout=10):
        args = [self.a.replay, *paths, "--traces-only", "--target", f"http://127.0.0.1:{port}", "--connections", str(connections),
                "--json", "--quiet", "--timeout", str(timeout)]
        if duration:
            args += ["--duration", str(duration)]
        if count:
            args += ["--count", str(count)]
        if rate:
            args += ["--rate", f"{rate:.0f}"]
        if verify:
            args.append("--verify")
        r = subprocess.run(args, capture_output=True, text=True)
        try:
            d = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(f"trace-replay gave no JSON (exit {r.returncode}): {r.stderr[-2000:]}")
        return ReplayRun.from_json(d, r.returncode)

    # --- analysis settling ----------------------------------------------------------------------
    def settle(self, port, expected_payloads=None):
        """Waits (bounded) until trace-compat has analysed everything it was handed, then returns
        the report's counters and how the end was known. `/compat/health` says it directly
        (`analysis.idle`: nothing queued, nothing in flight); an older binary without that field
        is waited for until the report accounts for `expected_payloads` (analysed + not_analysed)."""
        deadline = time.time() + self.a.settle_timeout
        while True:
            health = http_json(f"http://127.0.0.1:{port}/compat/health")
            if "analysis" in health:
                if health["analysis"]["idle"]:
                    return self.analysis_counts(port), "health: idle"
            elif health.get("analysis_queue_depth", 0) == 0 and expected_payloads is not None:
                counts = self.analysis_counts(port)
                if counts.payloads + counts.not_analysed >= expected_payloads:
                    return counts, "report counts (binary without analysis.idle)"
            if time.time() > deadline:
                log(f"analysis not settled after {self.a.settle_timeout}s: {health}")
                return self.analysis_counts(port), f"NOT SETTLED after {self.a.settle_timeout}s"
            time.sleep(0.05)  # a poll interval, not a guess: the condition above decides

    def analysis_counts(self, port):
        traffic = http_json(f"http://127.0.0.1:{port}/compat/report.json")["traffic"]
        return AnalysisCounts(spans=traffic.get("spans", 0), payloads=sum(traffic.get("trace_payloads", {}).values()),
                              not_analysed=sum(traffic.get("not_analysed", {}).values()))

    # --- rates, fixed before any measured run --------------------------------------------------
    def rates(self, mixes):
        out = {}
        given = dict(x.split("=") for x in self.a.fixed_rates.split(",")) if self.a.fixed_rates else {}
        for mix, paths in mixes.items():
            files = payload_files(paths)
            mean = sum(os.path.getsize(f) for f in files) / len(files)
            cap = self.a.paced_mbps * 1e6 / mean
            paced = min(self.a.paced_rate, cap)
            rule = (f"--paced-rate {self.a.paced_rate:g}" if paced == self.a.paced_rate
                    else f"{self.a.paced_mbps:g} MB/s ÷ {mean / 1e3:,.0f} kB mean request (--paced-mbps)")
            if mix in given:
                fixed, source = float(given[mix]), "--fixed-rates"
            else:
                fixed, source = self.calibrate(mix, paths)
            out[mix] = MixRates(mix=mix, mean_request_bytes=mean, fixed=fixed, fixed_source=source, paced=round(paced), paced_rule=rule)
            log(f"rates {mix:6}: fixed {fixed:.0f}/s ({source}); paced {paced:.0f}/s ({rule})")
        return out

    def calibrate(self, mix, paths):
        """Half of one path's max on this mix (--calibrate-on: trace-compat with analysis, or nginx:
        issue 12 asks for every payload analysed at half of nginx's max), measured on its own before
        the measured runs: the fixed rate then does not depend on which paths run, nor in which order."""
        kind = self.a.calibrate_on
        stub, stub_port = self.stub(record_sha=False)
        proc, port, _ = self.intermediary(kind, stub_port)
        self.replay(paths, port, count=warm_count(mix), connections=self.a.connections, verify=False)
        r = self.replay(paths, port, duration=self.a.calibration_duration, connections=self.a.connections, verify=False)
        stop(proc)
        stop(stub)
        return r.requests_per_second / 2, f"½ of {kind}'s max in a {self.a.calibration_duration} s calibration run ({r.requests_per_second:,.0f} req/s)"

    # --- integrity pass ------------------------------------------------------------------------
    def integrity(self, mixes, kinds):
        """Every path, every mix: a --count run against a stub that keeps SHA-256s of every body."""
        stub, stub_port = self.stub(record_sha=True)
        results = []
        digests = {m: payload_digests(paths) for m, paths in mixes.items()}
        for kind in kinds:
            proc, port, _ = self.intermediary(kind, stub_port)
            for mix, paths in mixes.items():
                count = self.a.integrity_count if mix != "large" else max(8, self.a.integrity_count // 20)
                if kind == "testagent":
                    # /stub/stats is not forwarded by the test agent: ask the stub directly.
                    before = http_json(f"http://127.0.0.1:{stub_port}/stub/stats")
                    r = self.replay(paths, port, count=count, connections=2, verify=False, timeout=60)
                    after = http_json(f"http://127.0.0.1:{stub_port}/stub/stats")
                    ok = stub_check(before, after, r, digests[mix])
                else:
                    r = self.replay(paths, port, count=count, connections=4, verify=True)
                    v = r.verification
                    ok = r.exit == 0 and v is not None and v.bodies_match and v.byte_for_byte and not v.mismatches
                results.append(Integrity(path=kind, mix=mix, ok=bool(ok), answered_2xx=r.ok, requests=r.requests))
                log(f"integrity {kind:9} {mix:6}: {'ok' if ok else 'FAILED'} ({r.ok}/{r.requests} 2xx)")
            if proc:
                stop(proc)
        stop(stub)
        return results

    # --- performance pass ---------------------------------------------------------------------
    def measure(self, kind, mix, paths, stub_port, rates):
        proc, port, pid = self.intermediary(kind, stub_port)
        verify = kind != "testagent"
        timeout = 60 if kind == "testagent" else 10
        analysed = kind in ANALYSED
        warm = self.replay(paths, port, count=warm_count(mix), connections=self.a.connections, verify=False, timeout=timeout)
        sent = warm.ok  # trace payloads handed to the proxy so far (for an older binary's settling)

        before, _ = self.settle(port, sent) if analysed else (None, None)
        cpu0 = tree_cpu(pid) if pid else 0.0
        an0 = analysis_threads_cpu(pid) if analysed else None
        t0 = time.time()
        mx = self.replay(paths, port, duration=self.a.duration, connections=self.a.connections, verify=verify, timeout=timeout)
        sent += mx.ok
        analysis_max = None
        if analysed:
            after, how = self.settle(port, sent)
            wall = time.time() - t0
            cpu_an, found = analysis_cpu_delta(an0, analysis_threads_cpu(pid))
            analysis_max = AnalysisRun(counts=after - before, wall_s=wall, thread_cpu_s=cpu_an, threads_found=found, settled=how)
            before = after
        cpu_s = tree_cpu(pid) - cpu0 if pid else None  # read after settling: analysis of the run included

        fixed_rate = rates.fixed
        if kind == "testagent":
            # It cannot sustain trace-compat's rate: half of its own max (from this same call, so
            # still independent of the other paths and their order).
            fixed_rate = min(fixed_rate, mx.requests_per_second / 2)
        fx = self.replay(paths, port, duration=self.a.duration, rate=fixed_rate, connections=self.a.rate_connections,
                         verify=verify, timeout=timeout)
        sent += fx.ok
        analysis_fixed = None
        if analysed:
            after, how = self.settle(port, sent)
            analysis_fixed = AnalysisRun(counts=after - before, settled=how)
            before = after

        paced = None
        if kind in PACED and pid:
            cpu0 = tree_cpu(pid)
            an0 = analysis_threads_cpu(pid) if analysed else None
            run = self.replay(paths, port, duration=self.a.duration, rate=rates.paced, connections=self.a.rate_connections,
                              verify=False, timeout=timeout)
            sent += run.ok
            analysis = None
            if analysed:
                after, how = self.settle(port, sent)
                cpu_an, found = analysis_cpu_delta(an0, analysis_threads_cpu(pid))
                analysis = AnalysisRun(counts=after - before, thread_cpu_s=cpu_an, threads_found=found, settled=how)
            cpu = tree_cpu(pid) - cpu0
            paced = PacedRun(rate=rates.paced, run=run, cpu_s=cpu, cpu_us_per_request=cpu / run.ok * 1e6 if run.ok else None,
                             analysis=analysis)

        rss = tree_hwm_mb(pid) if pid else None
        if proc:
            stop(proc)
        m = Measurement(path=kind, mix=mix, max=mx, fixed_rate=fixed_rate, fixed=fx, cpu_s=cpu_s,
                        cpu_us_per_request=cpu_s / mx.ok * 1e6 if cpu_s is not None and mx.ok else None,
                        paced=paced, rss_mb=rss, analysis_max=analysis_max, analysis_fixed=analysis_fixed)
        log(f"{kind:9} {mix:6}: max {mx.requests_per_second:.0f} req/s {mx.megabytes_per_second:.1f} MB/s exit {mx.exit}; "
            f"at {fixed_rate:.0f}/s p50 {fx.p50_ms} p99 {fx.p99_ms} ms exit {fx.exit}"
            + (f"; paced {paced.rate:.0f}/s: {fmt(paced.cpu_us_per_request)} µs CPU/request" if paced else "")
            + (f"; RSS {rss:.1f} MB" if rss is not None else ""))
        return m


def warm_count(mix):
    return 4 if mix == "large" else 100




def payload_files(paths):
    """The trace payloads of a mix: what `trace-replay --traces-only` sends (the *.msgpack bodies)."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, files in os.walk(p):
                out += [os.path.join(d, f) for f in files if f.endswith(".msgpack")]
        else:
            out.append(p)
    return sorted(out)


def payload_digests(paths):
    return {hashlib.sha256(open(f, "rb").read()).hexdigest(): os.path.getsize(f) for f in payload_files(paths)}


def stub_check(before, after, r, digests):
    """What arrived at the stub during a run through the test agent: as many bodies as 2xx answers,
    as many bytes as sent, and only the payloads' own SHA-256s."""
    arrived = {k: v - before.get("bodies", {}).get(k, 0) for k, v in after.get("bodies", {}).items()}
    arrived = {k: v for k, v in arrived.items() if v}
    return (after["requests"] - before["requests"] == r.ok == r.requests
            and after["bytes"] - before["bytes"] == r.bytes_sent
            and set(arrived) <= set(digests) and sum(arrived.values()) == r.ok)


# --- the tables -----------------------------------------------------------------------------------
TC_PATHS = ("tc", "tc-noan", "tc-low")
ANALYSED = ("tc", "tc-low")  # the paths whose proxy analyses (their analysis is measured too)
PACED = ("tc", "tc-noan", "nginx")  # the paths with a paced CPU-per-request run
NAMES = {"direct": "direct (replay → stub)", "tc": "trace-compat, analysis on", "tc-noan": "trace-compat --no-analysis",
         "tc-low": "trace-compat, analysis on, --analysis-priority low",
         "nginx": "nginx proxy_pass", "testagent": "ddapm-test-agent --agent-url"}


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def ratio(a, b, digits=2):
    return fmt(a / b, digits) if a is not None and b else "–"


def tables(rows, integrity, rates, meta, analysis_threads=""):
    out = []
    by = {(r.path, r.mix): r for r in rows}
    integ = {(i.path, i.mix): i for i in integrity}
    out.append(f"Machine: {meta['machine']}. Date: {meta['date']}. Commit: {meta['commit']}. Binary: {meta['binary']}. "
               f"Load average (1 min) at start {meta['load_start']:.2f}, at end {meta['load_end']:.2f}. "
               f"Max runs: {meta['connections']} connections × {meta['duration']} s; fixed-rate and paced runs: "
               f"{meta['rate_connections']} connections × {meta['duration']} s.\n")
    out.append("Rates, fixed before any measured run (the same whatever `--paths` and their order):\n")
    out.append("| mix | mean request | fixed rate req/s (latency) | from | paced rate req/s (CPU per request) | rule |")
    out.append("|---|---:|---:|---|---:|---|")
    for mix, r in rates.items():
        out.append(f"| {mix} | {r.mean_request_bytes / 1e3:,.1f} kB | {fmt(r.fixed)} | {r.fixed_source} | {fmt(r.paced)} | {r.paced_rule} |")
    out.append("")
    out.append("### Throughput (as fast as possible) and latency at the fixed rate (see the rates above)\n")
    out.append("| mix | path | req/s | MB/s | spans/s | × direct | × nginx | CPU µs/request at max | fixed rate req/s | p50 ms | p99 ms | p99.9 ms | added p99 vs direct ms | peak RSS MB | errors | lost/altered | load |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for mix in rates:
        direct, nginx = by.get(("direct", mix)), by.get(("nginx", mix))
        for kind in NAMES:
            r = by.get((kind, mix))
            if not r:
                continue
            m, f = r.max, r.fixed
            same_rate = direct and abs(r.fixed_rate - direct.fixed_rate) < 1
            added = f.p99_ms - direct.fixed.p99_ms if same_rate and kind != "direct" else None
            errors = m.errors + f.errors
            lost = []
            if kind != "testagent":
                counts_ok = all(x.verification and x.verification.bodies_match for x in (m, f))
                lost.append("counts ok" if counts_ok else "COUNTS DIFFER")
            i = integ.get((kind, mix))
            if i:
                lost.append(f"SHA ok ({i.answered_2xx})" if i.ok else "SHA FAILED")
            out.append(f"| {mix} | {NAMES[kind]} | {fmt(m.requests_per_second)} | {fmt(m.megabytes_per_second, 1)} | "
                       f"{fmt(m.spans_per_second)} | {ratio(m.requests_per_second, direct and direct.max.requests_per_second)} | "
                       f"{ratio(m.requests_per_second, nginx and nginx.max.requests_per_second)} | {fmt(r.cpu_us_per_request)} | "
                       f"{fmt(r.fixed_rate)}{'' if same_rate or not direct else ' (own ½ max)'} | {f.p50_ms:.3f} | {f.p99_ms:.3f} | {f.p999_ms:.3f} | {fmt(added, 3)} | "
                       f"{fmt(r.rss_mb, 1)} | {errors} | {', '.join(lost) or '–'} | {m.load:.1f} |")
    out.append("")
    out.append("### Paced CPU per request (µs)\n")
    out.append("The intermediary's process tree (user + sys, /proc), over a run at the paced rate, once analysis was idle, "
               "divided by the requests answered 2xx. *analysis* = analysis on − `--no-analysis`; *analysis threads* is the "
               "CPU of the threads named `tc-analysis-N` alone. *(short)*: that path did not reach 95% of the paced rate "
               "(the machine or the replayer could not keep up), so its CPU per request is not at the paced rate.\n")
    out.append("| mix | paced req/s | achieved req/s (tc / noan / nginx) | trace-compat, analysis on | trace-compat --no-analysis | nginx | analysis (on − off) | analysis threads | --no-analysis × nginx | analysis on × nginx |")
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for mix, rate in rates.items():
        p = {k: by[(k, mix)].paced for k in PACED if (k, mix) in by and by[(k, mix)].paced}
        if not p:
            continue
        us = {k: v.cpu_us_per_request for k, v in p.items()}
        def achieved_rate(k):
            if k not in p:
                return "–"
            got = p[k].run.requests_per_second
            return fmt(got) + (" (short)" if got < 0.95 * p[k].rate else "")
        achieved = " / ".join(achieved_rate(k) for k in ("tc", "tc-noan", "nginx"))
        an = p["tc"].analysis if "tc" in p else None
        threads = fmt(an.thread_cpu_s / p["tc"].run.ok * 1e6) if an and p["tc"].run.ok else "–"
        if an and an.threads_found != "named":
            threads += " (guessed)"
        diff = us["tc"] - us["tc-noan"] if "tc" in us and "tc-noan" in us else None
        out.append(f"| {mix} | {fmt(rate.paced)} | {achieved} | {fmt(us.get('tc'))} | {fmt(us.get('tc-noan'))} | {fmt(us.get('nginx'))} | "
                   f"{fmt(diff)} | {threads} | {ratio(us.get('tc-noan'), us.get('nginx'))} | {ratio(us.get('tc'), us.get('nginx'))} |")
    out.append("")
    threads_flag = f"`--analysis-threads {analysis_threads}`" if analysis_threads else "default `--analysis-threads`"
    out.append(f"### Analysis (trace-compat, analysis on, {threads_flag})\n")
    out.append("*spans answered 2xx* counts what the replayer sent and got a 2xx for; *spans analysed* is the report's "
               "`traffic.spans` delta once `/compat/health` said analysis was idle; *not_analysed* payloads were forwarded while "
               "the queue was full. *Analysed spans/s (wall)* divides by the run plus the time until idle; *per analysis CPU "
               "second* divides by the CPU of the analysis threads (found by name) alone.\n")
    out.append("| mix | run | spans answered 2xx | spans analysed | payloads not_analysed | analysed spans/s (wall) | analysis thread CPU s | spans per analysis CPU second | settled by |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for mix in rates:
        for kind in ANALYSED:
            r = by.get((kind, mix))
            if not r:
                continue
            a = r.analysis_max
            per_cpu = a.counts.spans / a.thread_cpu_s if a.thread_cpu_s else None
            label = "" if kind == "tc" else ", priority low"
            found = "" if a.threads_found == "named" else f" ({a.threads_found})"
            out.append(f"| {mix} | max{label} | {fmt(r.max.spans_answered)} | {fmt(a.counts.spans)} | {a.counts.not_analysed} | "
                       f"{fmt(a.counts.spans / a.wall_s)} | {a.thread_cpu_s:.2f}{found} | {fmt(per_cpu)} | {a.settled} |")
            af = r.analysis_fixed
            out.append(f"| {mix} | fixed {fmt(r.fixed_rate)}/s{label} | {fmt(r.fixed.spans_answered)} | {fmt(af.counts.spans)} | "
                       f"{af.counts.not_analysed} | – | – | – | {af.settled} |")
            if r.paced and r.paced.analysis:
                ap = r.paced.analysis
                out.append(f"| {mix} | paced {fmt(r.paced.rate)}/s{label} | {fmt(r.paced.run.spans_answered)} | {fmt(ap.counts.spans)} | "
                           f"{ap.counts.not_analysed} | – | {ap.thread_cpu_s:.2f} | – | {ap.settled} |")
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True, help="trace-compat (the proxy under test)")
    ap.add_argument("--replay", required=True, help="trace-replay (load generator and agent stub)")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--nginx-workers", type=int, default=2)
    ap.add_argument("--test-agent", default="")
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--large", required=True, help="folder with the generated ~5 MB payload")
    # ≥ 2 s: the proxy renders /compat/report.json at most once a second (ProxyLimits.adminSnapshotMaxAge),
    # so two report snapshots are always at least one run apart, never served from one render.
    ap.add_argument("--duration", type=int, default=10, choices=range(2, 3601), metavar="SECONDS (2-3600)")
    ap.add_argument("--calibration-duration", type=int, default=None, help="default: --duration")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--rate-connections", type=int, default=8)
    ap.add_argument("--integrity-count", type=int, default=200)
    ap.add_argument("--calibrate-on", choices=("tc", "nginx"), default="tc",
                    help="the path whose max (halved) sets the fixed rates when --fixed-rates does not")
    ap.add_argument("--paced-rate", type=float, default=1000)
    ap.add_argument("--paced-mbps", type=float, default=200, help="a mix's paced rate is lowered to stay under this many MB/s")
    ap.add_argument("--fixed-rates", default="", help="mix=req/s,… instead of calibrating (e.g. to compare two builds at the same rates)")
    ap.add_argument("--settle-timeout", type=float, default=60)
    ap.add_argument("--mixes", default="small,medium,large")
    ap.add_argument("--paths", default="tc,direct,tc-noan,tc-low,nginx,testagent")
    ap.add_argument("--analysis-threads", default="", help="trace-compat's --analysis-threads (default '': the proxy's own)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", default="{}")
    a = ap.parse_args()
    a.calibration_duration = a.calibration_duration or a.duration
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))

    fx = a.fixtures
    all_mixes = {
        "small": [f"{fx}/manual-v04"],
        "medium": [f"{fx}/django-full-v04", f"{fx}/django-minimal-v04", f"{fx}/django-full-v05"],
        "large": [a.large],
    }
    mixes = {m: all_mixes[m] for m in a.mixes.split(",")}
    kinds = [k for k in a.paths.split(",") if k != "testagent" or a.test_agent]
    meta = json.loads(a.meta)
    meta.update(load_start=os.getloadavg()[0], duration=a.duration, connections=a.connections, rate_connections=a.rate_connections,
                binary=a.binary, paths=kinds, paced_rate=a.paced_rate, paced_mbps=a.paced_mbps)
    h = Harness(a)

    integrity = h.integrity(mixes, kinds)
    rates = h.rates(mixes)

    rows = []
    for mix, paths in mixes.items():
        stub, stub_port = h.stub(record_sha=False)
        for kind in kinds:
            rows.append(h.measure(kind, mix, paths, stub_port, rates[mix]))
        stop(stub)
    meta["load_end"] = os.getloadavg()[0]
    text = tables(rows, integrity, rates, meta, a.analysis_threads)
    with open(a.out, "w") as f:
        f.write(text)
    with open(a.out.replace(".md", ".json"), "w") as f:
        json.dump({"meta": meta, "rates": [asdict(r) for r in rates.values()], "measurements": [asdict(r) for r in rows],
                   "integrity": [asdict(i) for i in integrity]}, f, indent=1)
    print(text)
    failed = [(i.path, i.mix) for i in integrity if not i.ok]
    if failed:
        log(f"integrity FAILED for {failed}")
        sys.exit(1)


if __name__ == "__main__":
    main()
