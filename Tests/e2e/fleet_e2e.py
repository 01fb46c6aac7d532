"""Fleet end-to-end test (issue 13), run by `make fleet-e2e` (scripts/fleet/run.sh), not by `make e2e`.

Three nodes, each a Linux network namespace joined to the test by a veth pair (addresses in a
10.x /30 per node, inside namespaces this test creates and always deletes; where namespaces are not
permitted, three loopback addresses 127.0.0.11-13). On each node: its own Datadog test agent, its own
`trace-compat proxy` in front of it, and its own real ddtrace 3.19.9 apps with different apps, tracer
settings and API versions (the Django app in full mode on node 2). One real Prometheus server
(Debian's `prometheus`, on a free loopback port, with deploy/prometheus/trace-compat.rules.yml)
scrapes the three proxies; the test asks its HTTP API (fleet_queries.py) and checks the answers
against what the apps sent. Then `trace-compat report merge` over the three nodes' URLs must equal
one `trace-compat audit` of the three nodes' captured traffic together.

The capture: what each node's test agent recorded (/test/session/requests: method, path, headers,
body of every trace and telemetry request), written out in the fixtures' layout. The proxy forwards
byte for byte, so what the agent recorded is what the proxy received.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import pytest
import requests

import fleet_queries as Q
from harness import (APPS, REPO, VENV_BIN, Fatal, Mode, Proc, _die_with_parent, _app_env, all_spans, app_constants,
                     clean_env, django_minimal_kind, free_port, settle_report, trace_compat_binary, wait_until)

WORK = REPO / ".fleet"
CHECKOUT = app_constants("tagged_checkout.py")
TICKER = app_constants("ticker.py")
RULES_FILE = REPO / "deploy" / "prometheus" / "trace-compat.rules.yml"


@dataclass
class AppPlan:
    """One app run on a node: the script, how its tracer talks to the agent, its settings."""
    script: str
    mode: Mode
    env: dict = field(default_factory=dict)


# Different apps, tracer settings and API versions per node; the Django app in full mode on node 2.
# Each app names its service (DD_SERVICE), so the metrics' `app` label is the app's own name.
PLANS = {
    1: [AppPlan("tagged_checkout.py", Mode("v0.4"), {"DD_SERVICE": CHECKOUT.SERVICE}),
        AppPlan("ticker.py", Mode("v0.5"), {"DD_SERVICE": TICKER.SERVICE, "TICK_COUNT": "10", "TICK_SECONDS": "0.05"})],
    2: [AppPlan("bookshelf_app.py", Mode("v0.4"), {"DD_SERVICE": "bookshelf", "DD_DJANGO_TRACING_MINIMAL": "false"})],
    3: [AppPlan("tagged_checkout.py", Mode("v0.5"), {"DD_SERVICE": CHECKOUT.SERVICE}),
        AppPlan("ticker.py", Mode("v0.4", native=False), {"DD_SERVICE": TICKER.SERVICE, "TICK_COUNT": "20", "TICK_SECONDS": "0.05"})],
}
# A second wave once Prometheus has scraped every node's trace payload counter: rate() needs the
# counter to grow between two scrapes, and a node whose apps all finish between two scrapes shows
# it only at its final value (Prometheus cannot tell the first increments from a restart).
SECOND_WAVE = AppPlan("ticker.py", Mode("v0.4"), {"DD_SERVICE": TICKER.SERVICE, "TICK_COUNT": "6", "TICK_SECONDS": "0.4"})


def plans_of(index: int) -> list[AppPlan]:
    return PLANS[index] + [SECOND_WAVE]


def sh(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=30)


class Node:
    """One node: a namespace (or a loopback address), its test agent, its proxy, its apps."""

    def __init__(self, index: int, netns: Optional[str], addr: str, workdir: Path):
        self.index, self.netns, self.addr, self.workdir = index, netns, addr, workdir
        self.name = f"node-{index}"
        loopback = netns is None
        self.agent_port = free_port() if loopback else 8126
        self.proxy_port = free_port() if loopback else 8136
        self.otlp = (free_port(), free_port()) if loopback else (4318, 4317)
        self.agent: Optional[Proc] = None
        self.proxy: Optional[Proc] = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    @property
    def agent_url(self) -> str:
        return f"http://{self.addr}:{self.agent_port}"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.addr}:{self.proxy_port}"

    @property
    def report_url(self) -> str:
        return self.proxy_url + "/compat/report.json"

    def start(self, binary: Path) -> None:
        argv = self.prefix + [str(VENV_BIN / "ddapm-test-agent"), "--host", self.addr, "--port", str(self.agent_port),
                              "--otlp-http-port", str(self.otlp[0]), "--otlp-grpc-port", str(self.otlp[1]),
                              "--snapshot-dir", str(self.workdir / "snapshots")]
        (self.workdir / "snapshots").mkdir(exist_ok=True)
        self.agent = Proc(f"{self.name} test agent", argv, self.workdir / "test-agent.log",
                          env=clean_env(ENABLED_CHECKS="trace_count_header,meta_tracer_version_header"),
                          cwd=self.workdir).start()
        argv = self.prefix + [str(binary), "proxy", "--listen", f"{self.addr}:{self.proxy_port}",
                              "--upstream", self.agent_url, "--report", str(self.workdir / "report.json"),
                              "--fresh", "--flush-interval", "1"]
        self.proxy = Proc(f"{self.name} proxy", argv, self.workdir / "proxy.log", env=clean_env(),
                          cwd=self.workdir).start()

    def wait_ready(self) -> None:
        for proc, url in ((self.agent, self.agent_url + "/info"), (self.proxy, self.proxy_url + "/compat/health")):
            def up(proc=proc, url=url):
                if not proc.alive():
                    raise Fatal(f"{proc.name} exited:\n{proc.log_tail()}")
                return requests.get(url, timeout=2).status_code == 200
            wait_until(up, 60, f"{proc.name} at {url}", on_timeout=proc.log_tail)
        requests.get(self.agent_url + "/test/session/start", timeout=10).raise_for_status()

    def run_app(self, plan: AppPlan) -> dict:
        """Runs one app in the node to completion; returns its summary line plus exit code and stderr."""
        out_dir = self.workdir / "apps"
        out_dir.mkdir(exist_ok=True)
        stem = f"{plan.script}.{plan.mode.name}"
        env = _app_env(self.proxy_url, plan.mode, dict(plan.env))
        if plan.script.startswith("bookshelf"):
            env["BOOKSHELF_DB"] = str(out_dir / "bookshelf.sqlite3")
        with open(out_dir / f"{stem}.stdout.txt", "wb") as out, open(out_dir / f"{stem}.stderr.txt", "wb") as err:
            p = subprocess.run(self.prefix + [sys.executable, str(APPS / plan.script)], env=env, cwd=out_dir,
                               stdout=out, stderr=err, stdin=subprocess.DEVNULL, timeout=180,
                               preexec_fn=_die_with_parent)
        stdout = (out_dir / f"{stem}.stdout.txt").read_text(errors="replace")
        summary = next((json.loads(ln) for ln in reversed(stdout.splitlines()) if ln.startswith("{")), {})
        return {"script": plan.script, "returncode": p.returncode, "summary": summary,
                "stderr": (out_dir / f"{stem}.stderr.txt").read_text(errors="replace")[-3000:]}

    def settle(self) -> dict:
        """Waits until the proxy's analysis is idle and its report stable (harness.settle_report)."""
        return settle_report(self.proxy_url, lambda: requests.get(self.report_url, timeout=10).json(),
                             f"{self.name}'s analysis to settle", self.proxy.log_tail if self.proxy else lambda: "")

    def capture(self, into: Path) -> list:
        """What this node's agent recorded, in the fixtures' layout; returns the session's traces."""
        into.mkdir(parents=True, exist_ok=True)
        recorded = list(reversed(requests.get(self.agent_url + "/test/session/requests", timeout=30).json()))
        for i, r in enumerate(recorded):
            path = urlsplit(r["url"]).path
            kind = path.strip("/").replace("/", "_")
            stem = into / f"{i:03d}-{r['method']}-{kind}"
            body = base64.b64decode(r["body"])
            headers = {k.lower(): v for k, v in r["headers"].items()}
            (stem.parent / (stem.name + ".headers.json")).write_text(
                json.dumps({"method": r["method"], "path": path, "headers": headers}, indent=1))
            suffix = ".msgpack" if path.endswith("/traces") else ".body.json" if "json" in headers.get("content-type", "") else ".bin"
            (stem.parent / (stem.name + suffix)).write_bytes(body)
        # The agent's /info answer as the proxy saw it live (the audit reads it for V4-AGENT).
        info = requests.get(self.agent_url + "/info", timeout=10)
        (into / f"{len(recorded):03d}-GET-info.response.json").write_bytes(info.content)
        return requests.get(self.agent_url + "/test/session/traces", timeout=30).json()

    def stop(self) -> None:
        for proc in (self.proxy, self.agent):
            if proc is not None:
                proc.stop()


class Fleet:
    """Creates the nodes' namespaces (or falls back to loopback addresses) and always removes them."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.tag = f"tcf{os.getpid()}"  # veth names stay under 15 bytes: tcf + 7 digits + h1
        # A /16 of 10.x chosen from the pid, so that two runs on one machine do not meet.
        self.net = 200 + os.getpid() % 50
        self.namespaces: list[str] = []
        self.veths: list[str] = []
        self.nodes: list[Node] = []
        self.mode = "netns"

    def _netns(self, i: int) -> tuple[str, str]:
        ns, host_if, node_if = f"{self.tag}-n{i}", f"{self.tag}h{i}", f"{self.tag}n{i}"
        steps = [
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", host_if, "type", "veth", "peer", "name", node_if, "netns", ns],
            ["ip", "addr", "add", f"10.{self.net}.{i}.1/30", "dev", host_if],
            ["ip", "link", "set", host_if, "up"],
            ["ip", "-n", ns, "addr", "add", f"10.{self.net}.{i}.2/30", "dev", node_if],
            ["ip", "-n", ns, "link", "set", node_if, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
        ]
        for n, step in enumerate(steps):
            r = sh(*step)
            if n == 0 and r.returncode == 0:
                self.namespaces.append(ns)
            if n == 1 and r.returncode == 0:
                self.veths.append(host_if)
            if r.returncode != 0:
                raise PermissionError(f"{' '.join(step)}: {r.stderr.strip()}")
        return ns, f"10.{self.net}.{i}.2"

    @staticmethod
    def remove_stale() -> None:
        """Removes namespaces a killed earlier run left (named after a pid that no longer runs)."""
        listing = sh("ip", "netns", "list")
        for line in listing.stdout.splitlines() if listing.returncode == 0 else []:
            name = line.split()[0] if line.split() else ""
            m = re.fullmatch(r"tcf(\d+)-n\d", name)
            if m and not Path(f"/proc/{m.group(1)}").exists():
                sh("ip", "netns", "del", name)

    def create(self, count: int = 3) -> list[Node]:
        self.remove_stale()
        try:
            if os.environ.get("FLEET_LOOPBACK") == "1":  # to exercise the fallback on a machine that has namespaces
                raise PermissionError("FLEET_LOOPBACK=1")
            for i in range(1, count + 1):
                ns, addr = self._netns(i)
                self.nodes.append(Node(i, ns, addr, self.workdir / f"node-{i}"))
        except (PermissionError, FileNotFoundError) as e:
            print(f"fleet: network namespaces not permitted ({e}); using loopback addresses 127.0.0.11-13")
            self.remove_namespaces()
            self.mode, self.nodes = "loopback", [Node(i, None, f"127.0.0.{10 + i}", self.workdir / f"node-{i}")
                                                 for i in range(1, count + 1)]
        return self.nodes

    def remove_namespaces(self) -> None:
        for veth in self.veths:
            sh("ip", "link", "del", veth)
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns)
        self.veths, self.namespaces = [], []

    def teardown(self) -> None:
        for node in self.nodes:
            node.stop()
        self.remove_namespaces()


class Prometheus:
    """Debian's Prometheus server on a free loopback port, scraping the nodes' proxies every second."""

    def __init__(self, workdir: Path, nodes: list[Node]):
        self.workdir, self.port = workdir, free_port()
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(RULES_FILE, workdir / RULES_FILE.name)
        targets = "\n".join(f"      - targets: ['{urlsplit(n.proxy_url).netloc}']\n        labels: {{node: {n.name}}}"
                            for n in nodes)
        (workdir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files: ['{RULES_FILE.name}']\n"
            "scrape_configs:\n  - job_name: trace-compat\n    static_configs:\n" + targets + "\n")
        self.proc: Optional[Proc] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Prometheus":
        argv = ["prometheus", f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.console.templates=/dev/null", "--web.console.libraries=/dev/null"]
        self.proc = Proc("prometheus", argv, self.workdir / "prometheus.log", env=clean_env(), cwd=self.workdir).start()

        def ready():
            if not self.proc.alive():
                raise Fatal("prometheus exited:\n" + self.proc.log_tail())
            return requests.get(self.url + "/-/ready", timeout=2).status_code == 200
        wait_until(ready, 60, "prometheus /-/ready", on_timeout=self.proc.log_tail)
        return self

    def query(self, promql: str) -> list[dict]:
        r = requests.get(self.url + "/api/v1/query", params={"query": promql}, timeout=10)
        r.raise_for_status()
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def table(self, promql: str, *labels: str) -> dict:
        """The instant vector as {label values: value}."""
        return {tuple(s["metric"].get(k, "") for k in labels): float(s["value"][1]) for s in self.query(promql)}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


# ---------------------------------------------------------------------------------------------
# The oracle: what the apps sent, independent of trace-compat.
# ---------------------------------------------------------------------------------------------

def expected_findings(plans: list[AppPlan], traces: list) -> dict[str, int]:
    """Findings of the rules whose counts follow from the apps alone, by rule: each repr key set once
    per checkout run, one `tick.ok` per ticker trace, the struct tag once per checkout run on v0.4
    (v0.5 cannot carry it), and the Django spans v4's minimal mode drops, counted in what the agent got."""
    out: dict[str, int] = {}

    def add(rule, n):
        if n:
            out[rule] = out.get(rule, 0) + n

    for plan in plans:
        if plan.script == "tagged_checkout.py":
            add("V4-TAG-REPR", len(CHECKOUT.EXPECTED_REPR_KEYS))
            if plan.mode.api == "v0.4":
                add("V4-STRUCT-TAG", 1)
        elif plan.script == "ticker.py":
            add("V4-TAG-REPR", int(plan.env["TICK_COUNT"]))
    add("V4-DJANGO-MINIMAL", sum(1 for s in all_spans(traces) if django_minimal_kind(s)))
    return out


ORACLE_RULES = ("V4-TAG-REPR", "V4-STRUCT-TAG", "V4-DJANGO-MINIMAL")


def rule_totals(report: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in report.get("findings", []):
        out[f["rule"]] = out.get(f["rule"], 0) + int(f["count"])
    return out


def projection(report: dict) -> dict:
    """What a merged fleet report and one audit of the captures must agree on."""
    findings = sorted(json.dumps({k: f.get(k) for k in ("rule", "severity", "service", "operation", "resource", "key",
                                                         "kind", "count")}, sort_keys=True)
                      for f in report.get("findings", []))
    t = report.get("traffic", {})
    # The test agent records no GET /info: those the proxy counted live are not in the captures.
    by_endpoint = {k: v for k, v in t.get("requests_by_endpoint", {}).items() if k != "/info"}
    return {"findings": findings, "spans": t.get("spans"), "traces": t.get("traces"),
            "trace_payloads": t.get("trace_payloads"), "decode_errors": t.get("decode_errors", {}).get("count"),
            "requests_by_endpoint": by_endpoint, "telemetry_messages": t.get("telemetry_messages"),
            # Versions seen, not how often: the proxies saw every /info answer, the captures one per node.
            "agent_versions": sorted(t.get("agent_versions", {})), "services": report.get("services")}


# ---------------------------------------------------------------------------------------------
# The run (one module fixture) and its checks.
# ---------------------------------------------------------------------------------------------

@dataclass
class FleetRun:
    fleet: Fleet
    prometheus: Prometheus
    reports: dict            # node name -> settled live report
    traces: dict             # node name -> traces the node's agent got
    apps: dict               # node name -> app results
    captures: Path
    binary: Path


@pytest.fixture(scope="module")
def run() -> FleetRun:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    binary = trace_compat_binary()
    fleet = Fleet(WORK)
    prometheus: Optional[Prometheus] = None
    try:
        nodes = fleet.create(3)
        for node in nodes:
            node.start(binary)
        for node in nodes:
            node.wait_ready()
        prometheus = Prometheus(WORK / "prometheus", nodes).start()

        apps: dict[str, list] = {n.name: [] for n in nodes}

        def drive(node: Node):  # the apps of one node one after the other; nodes in parallel
            for plan in PLANS[node.index]:
                apps[node.name].append(node.run_app(plan))

        def in_parallel(work):
            threads = [threading.Thread(target=work, args=(n,)) for n in nodes]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=240)

        in_parallel(drive)
        wait_until(lambda: len(prometheus.table(Q.TRACE_PAYLOADS_BY_NODE, "node")) == len(nodes), 30,
                   "prometheus to scrape every node's trace payload counter", interval=0.5)
        in_parallel(lambda node: apps[node.name].append(node.run_app(SECOND_WAVE)))
        reports = {n.name: n.settle() for n in nodes}
        traces = {n.name: n.capture(WORK / "captures" / n.name) for n in nodes}
        yield FleetRun(fleet, prometheus, reports, traces, apps, WORK / "captures", binary)
    finally:
        if prometheus is not None:
            prometheus.stop()
        fleet.teardown()


def test_apps_ran_without_error(run):
    for node, results in run.apps.items():
        assert len(results) == len(plans_of(int(node[-1]))), f"{node}: not every app ran: {results}"
        for r in results:
            assert r["returncode"] == 0, f"{node} {r['script']}: {r['stderr']}"
    ticks = [r["summary"].get("traces") for rs in run.apps.values() for r in rs if r["script"] == "ticker.py"]
    assert ticks == [10, 6, 6, 20, 6]


def test_each_nodes_report_has_what_its_apps_sent(run):
    for node in run.fleet.nodes:
        want = expected_findings(plans_of(node.index), run.traces[node.name])
        got = {r: n for r, n in rule_totals(run.reports[node.name]).items() if r in ORACLE_RULES}
        assert got == want, f"{node.name}: findings by rule {got}, the apps sent {want}"
    assert "V4-DJANGO-MINIMAL" in rule_totals(run.reports["node-2"])
    assert rule_totals(run.reports["node-2"])["V4-DJANGO-MINIMAL"] > 20  # migrate + ORM: many database spans


def _wait_for_prometheus(run, promql: str, labels: tuple, want: dict) -> dict:
    """Polls Prometheus until the query answers `want` (scrapes and rule evaluations run every second)."""
    last: dict = {}

    def matches():
        nonlocal last
        last = run.prometheus.table(promql, *labels)
        return last == want
    try:
        wait_until(matches, 30, f"prometheus to answer {promql}", interval=0.5)
    except TimeoutError:
        pass
    return last


def app_rule_totals(report: dict, severity: Optional[str] = None) -> dict[tuple, int]:
    """Finding occurrences by (app, rule) in a report (the app: `app`, else the service)."""
    out: dict[tuple, int] = {}
    for f in report.get("findings", []):
        if severity is None or f["severity"] == severity:
            key = (f.get("app") or f["service"], f["rule"])
            out[key] = out.get(key, 0) + int(f["count"])
    return out


def expected_by_app(plans: list[AppPlan], traces: list) -> dict[tuple, int]:
    """The oracle by (app, rule): what each app sent, as expected_findings counts it."""
    out: dict[tuple, int] = {}

    def add(app, rule, n):
        if n:
            out[(app, rule)] = out.get((app, rule), 0) + n

    for plan in plans:
        if plan.script == "tagged_checkout.py":
            add(CHECKOUT.SERVICE, "V4-TAG-REPR", len(CHECKOUT.EXPECTED_REPR_KEYS))
            if plan.mode.api == "v0.4":
                add(CHECKOUT.SERVICE, "V4-STRUCT-TAG", 1)
        elif plan.script == "ticker.py":
            add(TICKER.SERVICE, "V4-TAG-REPR", int(plan.env["TICK_COUNT"]))
    add("bookshelf", "V4-DJANGO-MINIMAL", sum(1 for s in all_spans(traces) if django_minimal_kind(s)))
    return out


def most_seen(counts: dict) -> str:
    """The version seen in most requests, ties to the highest string (as /metrics labels app_info)."""
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0] if counts else ""


def test_prometheus_which_apps_would_break_and_why(run):
    """The query of README's "Fleet": apps with a `breaks` finding, by rule, as the apps sent them."""
    want: dict = {}
    for report in run.reports.values():
        for key, n in app_rule_totals(report, "breaks").items():
            want[key] = want.get(key, 0.0) + n
    # Only checkout on node 1 sent v0.4, the one API that carries its struct tag.
    assert want.get((CHECKOUT.SERVICE, "V4-STRUCT-TAG")) == 1.0
    got = _wait_for_prometheus(run, Q.APPS_THAT_BREAK, ("app", "rule"), want)
    assert got == want
    findings = [f for rep in run.reports.values() for f in rep["findings"]]
    not_ready = {(f.get("app") or f["service"],): 0.0 for f in findings if f["severity"] in ("breaks", "changes")}
    assert (CHECKOUT.SERVICE,) in not_ready
    assert _wait_for_prometheus(run, Q.APPS_NOT_READY, ("app",), not_ready) == not_ready
    apps = {(f.get("app") or f["service"],) for f in findings} | {(a,) for rep in run.reports.values() for a in rep["services"]}
    readiness = {a: (0.0 if a in not_ready else 1.0) for a in apps}
    assert _wait_for_prometheus(run, Q.APP_READINESS, ("app",), readiness) == readiness


def test_prometheus_findings_by_app_rule_severity_match_the_apps(run):
    want: dict = {}
    oracle: dict = {}
    for node in run.fleet.nodes:
        for f in run.reports[node.name]["findings"]:
            key = (f.get("app") or f["service"], f["rule"], f["severity"])
            want[key] = want.get(key, 0.0) + int(f["count"])
        for key, n in expected_by_app(plans_of(node.index), run.traces[node.name]).items():
            oracle[key] = oracle.get(key, 0) + n
    for (app, rule), n in oracle.items():  # the oracle's rules: Prometheus has the apps' own numbers
        assert sum(v for (a, r, _s), v in want.items() if (a, r) == (app, rule)) == n, (app, rule)
    got = _wait_for_prometheus(run, Q.FINDINGS_BY_APP_RULE_SEVERITY, ("app", "rule", "severity"), want)
    assert got == want
    groups: dict = {}
    for report in run.reports.values():
        for f in report["findings"]:
            key = (f.get("app") or f["service"], f["rule"])
            groups[key] = groups.get(key, 0.0) + 1
    assert _wait_for_prometheus(run, Q.GROUPS_BY_APP_AND_RULE, ("app", "rule"), groups) == groups


def test_prometheus_findings_by_node_and_rule_match_the_apps(run):
    want = {}
    for node in run.fleet.nodes:
        for rule, n in rule_totals(run.reports[node.name]).items():
            want[(node.name, rule)] = float(n)
        oracle = expected_findings(plans_of(node.index), run.traces[node.name])
        for rule in ORACLE_RULES:  # the series Prometheus has for the oracle's rules are the apps' numbers
            if rule in oracle:
                assert want[(node.name, rule)] == oracle[rule]
    got = _wait_for_prometheus(run, Q.FINDINGS_BY_NODE_AND_RULE, ("node", "rule"), want)
    assert got == want


def test_prometheus_apps_spans_and_versions(run):
    spans: dict = {}
    info: dict = {}
    for node in run.fleet.nodes:
        for app, s in run.reports[node.name]["services"].items():
            spans[(app,)] = spans.get((app,), 0.0) + s["spans"]
            info[(node.name, app, most_seen(s["tracer_versions"]), most_seen(s["python_versions"]),
                  most_seen(s["api_versions"]))] = 1.0
    assert {k[0] for k in spans} >= {CHECKOUT.SERVICE, TICKER.SERVICE, "bookshelf"}
    assert _wait_for_prometheus(run, Q.SPANS_BY_APP, ("app",), spans) == spans
    labels = ("node", "app", "tracer_version", "python_version", "api_version")
    got = _wait_for_prometheus(run, Q.APP_INFO, labels, info)
    assert got == info
    # What the apps sent: ddtrace 3.19.9 on this Python; checkout on node 1 sent v0.4 only.
    python = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    for (_node, app, tracer, py, _api) in got:
        if app in (CHECKOUT.SERVICE, TICKER.SERVICE, "bookshelf"):
            assert (tracer, py) == ("3.19.9", python), (app, tracer, py)
    assert ("node-1", CHECKOUT.SERVICE, "v0.4") in {(k[0], k[1], k[4]) for k in got}


def test_prometheus_trace_payloads_and_coverage(run):
    want = {}
    for node in run.fleet.nodes:
        payloads = run.reports[node.name]["traffic"]["trace_payloads"]
        want[(node.name,)] = float(sum(payloads.values()))
    got = _wait_for_prometheus(run, Q.TRACE_PAYLOADS_BY_NODE, ("node",), want)
    assert got == want
    coverage = _wait_for_prometheus(run, Q.COVERAGE_BY_NODE, ("node",), {(n.name,): 1.0 for n in run.fleet.nodes})
    assert coverage == {(n.name,): 1.0 for n in run.fleet.nodes}


def test_report_merge_over_urls_equals_one_audit_of_the_captures(run):
    merged_path, audit_path = WORK / "fleet-merged.json", WORK / "captures-audit.json"
    urls = [n.report_url for n in run.fleet.nodes]
    r = subprocess.run([str(run.binary), "report", "merge", *urls, "-o", str(merged_path), "--timeout", "5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    a = subprocess.run([str(run.binary), "audit", str(run.captures), "--json", str(audit_path)],
                       capture_output=True, text=True, timeout=120)
    assert a.returncode == 0, a.stderr
    merged, audited = json.loads(merged_path.read_text()), json.loads(audit_path.read_text())
    assert projection(merged)["findings"], "the fleet report has no finding"
    assert projection(merged) == projection(audited)
    # Its sources: the three URLs in order, each with that node's provenance and times.
    assert [src["source"] for src in merged["sources"]] == urls
    for src, node in zip(merged["sources"], run.fleet.nodes):
        live = run.reports[node.name]
        assert src["provenance"] == live["provenance"]
        assert src["provenance"]["command"] == "proxy"
        assert src["provenance"]["listen"] == f"{node.addr}:{node.proxy_port}"
        assert src["provenance"]["host"] == os.uname().nodename  # namespaces share the UTS name
        assert (src["first_seen"], src["last_seen"]) == (live["started_at"], live["updated_at"])
    assert merged["provenance"]["command"] == "merge" and "listen" not in merged["provenance"]
    assert audited["provenance"]["command"] == "audit"
    # And the merge is the sum of the three live reports.
    assert rule_totals(merged) == {rule: sum(rule_totals(rep).get(rule, 0) for rep in run.reports.values())
                                   for rule in rule_totals(merged)}
