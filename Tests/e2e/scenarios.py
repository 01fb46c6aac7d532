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

from harness import AppRun, Mode, Proxy, TestAgent, run_app, settle_report


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


def settle(proxy: Proxy, timeout: float = 30) -> dict:
    """Waits until the proxy's analysis is idle and its report stable (harness.settle_report); returns it."""
    return settle_report(proxy.url, proxy.report_json, "the proxy's analysis to settle", proxy.log_tail, timeout)


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
