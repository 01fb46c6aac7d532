"""One scenario = one app in one mode, run twice: directly against the test agent, and through a
fresh trace-compat proxy whose upstream is the same test agent. The outcome holds everything the
tests assert on, so that each assertion is its own small test."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import requests

from harness import AppRun, Mode, Proxy, TestAgent, run_app, wait_until


@dataclass
class Outcome:
    name: str
    direct: AppRun
    proxied: AppRun
    direct_traces: list
    proxied_traces: list
    direct_requests: list
    proxied_requests: list
    proxied_telemetry: list
    info_requests_at_agent: int        # GET /info the agent logged during the proxied run
    live_report: dict                   # GET /compat/report.json once analysis settled
    plain_report: dict                  # GET /compat/report
    report_md: str
    metrics: str                        # GET /metrics (Prometheus text)
    file_report: Optional[dict]         # the report file after SIGTERM
    proxy_exit: Optional[int]
    proxy: Proxy
    extra: dict = field(default_factory=dict)


# The proxy renders /compat/report at most once a second (ProxyLimits.adminSnapshotMaxAge) and
# answers from that render meanwhile: the same answer within one second proves nothing.
REPORT_RENDER_MAX_AGE = 1.0


def settle(proxy: Proxy, timeout: float = 30) -> dict:
    """Waits until analysis is idle (`/compat/health`: nothing queued or being analysed) and the
    report's findings have stayed the same for longer than one render of the report; returns it."""
    seen: list = []  # (time the stretch started, snapshot)

    def stable():
        health = requests.get(proxy.url + "/compat/health", timeout=5).json()
        analysis = health.get("analysis")
        busy = not analysis["idle"] if analysis else health.get("analysis_queue_depth", 0) > 0
        report = proxy.report_json()
        snapshot = json.dumps([report.get("findings"), report.get("traffic")], sort_keys=True)
        if busy:
            seen.clear()  # a stretch starts only once analysis was seen idle
            return None
        if not seen or seen[-1][1] != snapshot:
            seen.append((time.monotonic(), snapshot))  # a new stretch starts here
            return None
        if time.monotonic() - seen[-1][0] > REPORT_RENDER_MAX_AGE + 0.2:
            return report
        return None

    return wait_until(stable, timeout, "the proxy's analysis to settle", interval=0.25, on_timeout=proxy.log_tail)


def run_scenario(name: str, script: str, mode: Mode, agent: TestAgent, proxy: Proxy, workdir: Path,
                 **extra_env: str) -> Outcome:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    env = dict(extra_env)

    # 1. direct: app → test agent
    agent.start_session()
    db = workdir / "bookshelf.sqlite3"  # same path both times: it is a span tag (db.name)
    if script.startswith("bookshelf"):
        env["BOOKSHELF_DB"] = str(db)
    direct = run_app(script, agent.url, mode, workdir / "direct", **env)
    time.sleep(0.3)
    direct_traces, direct_requests = agent.session_traces(), agent.session_requests()

    # 2. through the proxy: app → trace-compat → test agent
    proxy.start(fresh=True)
    agent.start_session()
    log_mark = len(agent.log_text())
    db.unlink(missing_ok=True)
    proxied = run_app(script, proxy.agent_url, mode, workdir / "proxied", **env)
    live = settle(proxy)
    time.sleep(0.3)
    proxied_traces, proxied_requests = agent.session_traces(), agent.session_requests()
    telemetry = agent.session_telemetry()
    info_requests = agent.log_text()[log_mark:].count('"GET /info ')
    plain = requests.get(proxy.url + "/compat/report", timeout=10).json()
    md = requests.get(proxy.url + "/compat/report.md", timeout=10).text
    metrics = requests.get(proxy.url + "/metrics", timeout=10).text
    exit_code = proxy.stop()
    file_report = json.loads(proxy.report.read_text()) if proxy.report.exists() else None
    return Outcome(name, direct, proxied, direct_traces, proxied_traces, direct_requests, proxied_requests,
                   telemetry, info_requests, live, plain, md, metrics, file_report, exit_code, proxy)
