#!/usr/bin/env python3
"""Proxy overhead harness (issue 6), driven by Benchmarks/harness/run.sh (`make bench-proxy`).

On loopback, with free ports, for each payload mix (small, medium, large) and each path:
  direct      replay → stub
  tc          replay → trace-compat proxy (analysis on, --analysis-threads 1) → stub
  tc-noan     replay → trace-compat proxy --no-analysis → stub
  tc-low      as tc, with --analysis-priority low (analysis at nice 10 instead of SCHED_IDLE)
  nginx       replay → nginx proxy_pass (keep-alive upstream, HTTP/1.1, no request buffering) → stub
  testagent   replay → ddapm-test-agent --agent-url → stub
it measures the maximum throughput (--connections C, --duration D), then the latency at a fixed rate
(half of trace-compat's maximum for that mix), the intermediary's CPU seconds per MB and peak RSS
(VmHWM), and for trace-compat how much of the traffic was analysed. A first pass checks integrity
against a stub keeping SHA-256s of every body (replay --verify).

Everything it starts is killed at exit. Output: Markdown on stdout and in OUT (proxy-results.md).
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


def thread_cpu(pid):
    """CPU seconds of every thread that is not a SwiftNIO event loop (`NIO-…`), by thread id.
    Foundation on Linux does not pass Thread.name to the kernel, so the analysis thread is found
    as the non-NIO thread that used the most CPU during the run (the others are idle)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().startswith("NIO-"):
                    continue
            out[tid] = cpu_seconds(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            pass
    return out


def busiest_delta(before, after):
    return max((after[t] - before.get(t, 0.0) for t in after), default=0.0)


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
        args = [self.a.binary, "replay", "--serve", "--listen", f"127.0.0.1:{port}", "--threads", "1"]
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
        if kind in ("tc", "tc-noan", "tc-low"):
            report = os.path.join(self.tmp, f"report-{port}.json")
            args = [self.a.binary, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{upstream_port}",
                    "--report", report, "--fresh", "--flush-interval", "3600", "--analysis-threads", "1"]
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
                f.write(NGINX_CONF.format(root=root, port=port, upstream=upstream_port))
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
        args = [self.a.binary, "replay", *paths, "--target", f"http://127.0.0.1:{port}", "--connections", str(connections),
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
            result = json.loads(r.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(f"replay gave no JSON (exit {r.returncode}): {r.stderr[-2000:]}")
        result["exit"] = r.returncode
        result["load"] = os.getloadavg()[0]
        return result

    # --- integrity pass ------------------------------------------------------------------------
    def integrity(self, mixes, kinds):
        """Every path, every mix: a --count run against a stub that keeps SHA-256s of every body."""
        stub, stub_port = self.stub(record_sha=True)
        results = {}
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
                    v = r.get("verification") or {}
                    ok = r["exit"] == 0 and v.get("bodiesMatch") and v.get("byteForByte") and not v.get("mismatches")
                results[(kind, mix)] = (bool(ok), r["ok"], r["requests"])
                log(f"integrity {kind:9} {mix:6}: {'ok' if ok else 'FAILED'} ({r['ok']}/{r['requests']} 2xx)")
            if proc:
                stop(proc)
        stop(stub)
        return results

    # --- performance pass ---------------------------------------------------------------------
    def measure(self, kind, mix, paths, stub_port, rate_for):
        proc, port, pid = self.intermediary(kind, stub_port)
        verify = kind != "testagent"
        timeout = 60 if kind == "testagent" else 10
        warm = 4 if mix == "large" else 100
        self.replay(paths, port, count=warm, connections=self.a.connections, verify=False, timeout=timeout)
        row = {"kind": kind, "mix": mix}
        analysed = kind in ANALYSED
        report_before = self.analysis_snapshot(port, wait_idle=True) if analysed else None
        cpu0 = tree_cpu(pid) if pid else 0.0
        an0 = thread_cpu(pid) if analysed else {}
        t0 = time.time()
        row["max"] = self.replay(paths, port, duration=self.a.duration, connections=self.a.connections, verify=verify, timeout=timeout)
        if pid:
            row["cpu_s"] = tree_cpu(pid) - cpu0
        if analysed:
            report_after = self.analysis_snapshot(port, wait_idle=True)
            row["analysis_wall_s"] = time.time() - t0
            row["analysis_cpu_s"] = busiest_delta(an0, thread_cpu(pid))
            row["analysis"] = {k: report_after[k] - report_before[k] for k in report_after}
        rate = rate_for(row)
        row["rate"] = rate
        if analysed:
            snap = self.analysis_snapshot(port)
        row["fixed"] = self.replay(paths, port, duration=self.a.duration, rate=rate, connections=self.a.rate_connections,
                                   verify=verify, timeout=timeout)
        if analysed:
            after = self.analysis_snapshot(port, wait_idle=True)
            row["analysis_fixed"] = {k: after[k] - snap[k] for k in after}
        if pid:
            row["rss_mb"] = tree_hwm_mb(pid)
        if proc:
            stop(proc)
        m, f = row["max"], row["fixed"]
        log(f"{kind:9} {mix:6}: max {m['requestsPerSecond']:.0f} req/s {m['megabytesPerSecond']:.1f} MB/s exit {m['exit']}; "
            f"at {rate:.0f}/s p50 {f['latencyMs']['p50']} p99 {f['latencyMs']['p99']} ms exit {f['exit']}"
            + (f"; RSS {row['rss_mb']:.1f} MB" if pid else ""))
        return row

    def analysis_snapshot(self, port, wait_idle=False):
        if wait_idle:
            deadline = time.time() + 60
            while time.time() < deadline and http_json(f"http://127.0.0.1:{port}/compat/health")["analysis_queue_depth"] > 0:
                time.sleep(0.1)
            time.sleep(0.3)  # the payload being analysed when the queue emptied
        traffic = http_json(f"http://127.0.0.1:{port}/compat/report.json")["traffic"]
        return {"spans": traffic.get("spans", 0), "payloads": sum(traffic.get("trace_payloads", {}).values()),
                "not_analysed": sum(traffic.get("not_analysed", {}).values())}


NGINX_CONF = """daemon off;
master_process on;
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 32m;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    upstream agent {{
        server 127.0.0.1:{upstream};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://agent;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
        }}
    }}
}}
"""


def payload_files(paths):
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
    return (after["requests"] - before["requests"] == r["ok"] == r["requests"]
            and after["bytes"] - before["bytes"] == r["bytesSent"]
            and set(arrived) <= set(digests) and sum(arrived.values()) == r["ok"])


# --- the table ----------------------------------------------------------------------------------
ANALYSED = ("tc", "tc-low")  # the paths whose proxy analyses (their analysis is measured too)
NAMES = {"direct": "direct (replay → stub)", "tc": "trace-compat, analysis on", "tc-noan": "trace-compat --no-analysis",
         "tc-low": "trace-compat, analysis on, --analysis-priority low",
         "nginx": "nginx proxy_pass", "testagent": "ddapm-test-agent --agent-url"}


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def tables(rows, integrity, mixes_desc, meta):
    out = []
    by = {(r["kind"], r["mix"]): r for r in rows}
    out.append(f"Machine: {meta['machine']}. Date: {meta['date']}. Commit: {meta['commit']}. "
               f"Load average (1 min) at start {meta['load_start']:.2f}, at end {meta['load_end']:.2f}. "
               f"Max runs: {meta['connections']} connections × {meta['duration']} s; fixed-rate runs: "
               f"{meta['rate_connections']} connections × {meta['duration']} s at half of trace-compat's (analysis on) max req/s.\n")
    out.append("### Throughput (as fast as possible) and latency at half of trace-compat's max rate\n")
    out.append("| mix | path | req/s | MB/s | spans/s | × direct | × nginx | fixed rate req/s | p50 ms | p99 ms | p99.9 ms | added p99 vs direct ms | CPU s per MB | peak RSS MB | errors | lost/altered | load |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for mix in mixes_desc:
        direct, nginx = by.get(("direct", mix)), by.get(("nginx", mix))
        for kind in NAMES:
            r = by.get((kind, mix))
            if not r:
                continue
            m, f = r["max"], r["fixed"]
            lat = f["latencyMs"]
            x_direct = m["requestsPerSecond"] / direct["max"]["requestsPerSecond"] if direct else None
            x_nginx = m["requestsPerSecond"] / nginx["max"]["requestsPerSecond"] if nginx else None
            added = None
            if direct and kind != "direct" and abs(r["rate"] - direct["rate"]) < 1:
                added = lat["p99"] - direct["fixed"]["latencyMs"]["p99"]
            mb = m["bytesSent"] / 1e6
            cpu = r.get("cpu_s") / mb if r.get("cpu_s") is not None and mb else None
            errors = sum(x["non2xx"] + x["timeouts"] + x["connectionErrors"] for x in (m, f))
            verified = [x.get("verification") for x in (m, f)]
            counts_ok = all(v and v["bodiesMatch"] for v in verified) if kind != "testagent" else None
            integ = integrity.get((kind, mix))
            lost = []
            if counts_ok is not None:
                lost.append("counts ok" if counts_ok else "COUNTS DIFFER")
            if integ:
                lost.append(f"SHA ok ({integ[1]})" if integ[0] else "SHA FAILED")
            rate_note = "" if abs(r["rate"] - (by.get(("tc", mix)) or r)["rate"]) < 1 else " (own ½ max)"
            out.append(f"| {mix} | {NAMES[kind]} | {fmt(m['requestsPerSecond'])} | {fmt(m['megabytesPerSecond'], 1)} | "
                       f"{fmt(m['spansPerSecond'])} | {fmt(x_direct, 2)} | {fmt(x_nginx, 2)} | {fmt(r['rate'])}{rate_note} | "
                       f"{lat['p50']:.3f} | {lat['p99']:.3f} | {lat['p999']:.3f} | {fmt(added, 3)} | {fmt(cpu, 4)} | "
                       f"{fmt(r.get('rss_mb'), 1)} | {errors} | {', '.join(lost) or '–'} | {m['load']:.1f} |")
    out.append("")
    out.append("### Analysis (trace-compat, analysis on, `--analysis-threads 1`)\n")
    out.append("*spans answered 2xx* counts what the replayer sent and got a 2xx for; *spans analysed* is the report's "
               "`traffic.spans` delta once the queue is empty; *not_analysed* payloads were forwarded while the queue was full. "
               "*Analysed spans/s (wall)* divides by the run plus the time to drain the queue; *per analysis CPU second* divides "
               "by the CPU time of the analysis thread alone (one core's worth of analysis).\n")
    out.append("| mix | run | spans answered 2xx | spans analysed | payloads not_analysed | analysed spans/s (wall) | analysis thread CPU s | spans per analysis CPU second |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for mix in mixes_desc:
        for kind in ANALYSED:
            r = by.get((kind, mix))
            if not r:
                continue
            a = r["analysis"]
            per_cpu = a["spans"] / r["analysis_cpu_s"] if r["analysis_cpu_s"] > 0 else None
            label = "" if kind == "tc" else ", priority low"
            out.append(f"| {mix} | max{label} | {fmt(r['max']['spansAnswered'])} | {fmt(a['spans'])} | {a['not_analysed']} | "
                       f"{fmt(a['spans'] / r['analysis_wall_s'])} | {r['analysis_cpu_s']:.2f} | {fmt(per_cpu)} |")
            af = r["analysis_fixed"]
            out.append(f"| {mix} | fixed {fmt(r['rate'])}/s{label} | {fmt(r['fixed']['spansAnswered'])} | {fmt(af['spans'])} | {af['not_analysed']} | – | – | – |")
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--test-agent", default="")
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--large", required=True, help="folder with the generated ~5 MB payload")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--rate-connections", type=int, default=8)
    ap.add_argument("--integrity-count", type=int, default=200)
    ap.add_argument("--mixes", default="small,medium,large")
    ap.add_argument("--paths", default="tc,direct,tc-noan,tc-low,nginx,testagent")
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", default="{}")
    a = ap.parse_args()
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
    meta.update(load_start=os.getloadavg()[0], duration=a.duration, connections=a.connections, rate_connections=a.rate_connections)
    h = Harness(a)

    integrity = h.integrity(mixes, kinds)

    rows = []
    for mix, paths in mixes.items():
        stub, stub_port = h.stub(record_sha=False)
        tc_rate = {}

        def rate_for(row):
            half = row["max"]["requestsPerSecond"] / 2
            if row["kind"] == "tc":
                tc_rate["r"] = half
            if row["kind"] == "testagent":
                return min(half, tc_rate.get("r", half))
            return tc_rate.get("r", half)

        for kind in kinds:  # "tc" first: its max sets the fixed rate for every path
            rows.append(h.measure(kind, mix, paths, stub_port, rate_for))
        stop(stub)
    meta["load_end"] = os.getloadavg()[0]
    text = tables(rows, integrity, list(mixes), meta)
    with open(a.out, "w") as f:
        f.write(text)
    with open(a.out.replace(".md", ".json"), "w") as f:
        json.dump({"meta": meta, "rows": rows, "integrity": {f"{k[0]}/{k[1]}": v for k, v in integrity.items()}}, f, indent=1)
    print(text)
    failed = [k for k, v in integrity.items() if not v[0]]
    if failed:
        log(f"integrity FAILED for {failed}")
        sys.exit(1)


if __name__ == "__main__":
    main()
