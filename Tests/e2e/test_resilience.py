"""The proxy restarted between two runs keeps its report; the agent gone gives 502s, and the proxy
recovers when it comes back."""
from __future__ import annotations

import json
import re
import time

import msgpack
import requests

from harness import AppProcess, Mode, TestAgent, app_constants, all_spans, count_by, findings, run_app, wait_until
from scenarios import settle

APP = app_constants("tagged_checkout.py")

V04 = Mode("v0.4")


def repr_counts(report: dict) -> dict:
    return count_by(findings(report, "V4-TAG-REPR", APP.SERVICE), "key")


def test_restart_keeps_report_and_counts_continue(agent, proxies, workdir):
    proxy = proxies(agent.url)
    proxy.start(fresh=True)
    run = run_app("tagged_checkout.py", proxy.agent_url, V04, workdir / "run1", DD_SERVICE=APP.SERVICE)
    assert run.returncode == 0 and run.tracer_errors() == [], run.describe()
    first = repr_counts(settle(proxy))
    assert set(first) == set(APP.EXPECTED_REPR_KEYS) and set(first.values()) == {1}, first

    assert proxy.stop() == 0, proxy.log_tail()
    on_disk = repr_counts(json.loads(proxy.report.read_text()))
    assert on_disk == first, "the report file written on SIGTERM lost findings"

    # Same port, same report file, no --fresh: the report continues.
    proxy.start(fresh=False)
    assert repr_counts(proxy.report_json()) == first, "restarted proxy did not continue the report file"
    run = run_app("tagged_checkout.py", proxy.agent_url, V04, workdir / "run2", DD_SERVICE=APP.SERVICE)
    assert run.returncode == 0 and run.tracer_errors() == [], run.describe()
    second = repr_counts(settle(proxy))
    assert second == {k: 2 for k in first}, f"counts did not continue across the restart: {second}"
    struct = count_by(findings(proxy.report_json(), "V4-STRUCT-TAG", APP.SERVICE), "key")
    assert struct == {APP.EXPECTED_STRUCT_KEY: 2}

    # --fresh starts over.
    assert proxy.stop() == 0
    proxy.start(fresh=True)
    assert repr_counts(proxy.report_json()) == {}, "--fresh kept old findings"


TICKER = app_constants("ticker.py")


def test_restart_while_an_app_sends(agent, proxies, workdir):
    """Mid-run: a job sends a trace every 0.1 s while the proxy is stopped and started again. Whatever
    reached the agent was counted exactly once in the one continued report; nothing else was."""
    proxy = proxies(agent.url)
    proxy.start(fresh=True)
    agent.start_session()
    app = AppProcess("ticker.py", proxy.agent_url, V04, workdir / "ticker", DD_SERVICE=TICKER.SERVICE,
                     TICK_COUNT="50", TICK_SECONDS="0.1")
    try:
        wait_until(lambda: proxy.report_json()["traffic"]["traces"] >= 5, 30, "the first traces through the proxy",
                   on_timeout=proxy.log_tail)
        assert proxy.stop() == 0, proxy.log_tail()
        before = json.loads(proxy.report.read_text())["traffic"]["traces"]
        time.sleep(0.5)  # the job keeps sending into a closed port meanwhile
        proxy.start(fresh=False)
        run = app.wait(timeout=120)
    finally:
        if app.popen.poll() is None:
            app.popen.kill()
    assert run.returncode == 0 and run.summary.get("traces") == 50, run.describe()
    report = settle(proxy)
    time.sleep(0.3)
    received = [s for s in all_spans(agent.session_traces()) if s["service"] == TICKER.SERVICE]
    traffic = report["traffic"]
    assert before < traffic["traces"] <= 50, f"the count did not continue: {before} before, {traffic['traces']} after"
    assert traffic["traces"] == len(received), (
        f"the agent got {len(received)} traces, the continued report counted {traffic['traces']}")
    assert count_by(findings(report, "V4-TAG-REPR", TICKER.SERVICE), "key") == {TICKER.REPR_KEY: len(received)}


def _tiny_v04_payload() -> bytes:
    span = {"trace_id": 7, "span_id": 8, "parent_id": 0, "name": "outage.probe", "service": "outage",
            "resource": "probe", "type": "custom", "start": time.time_ns(), "duration": 1000, "error": 0,
            "meta": {"k": "v"}, "metrics": {}}
    return msgpack.packb([[span]])


def test_agent_outage_gives_502_and_recovers(proxies, workdir):
    own = TestAgent(workdir / "agent").start()
    try:
        proxy = proxies(own.url)
        proxy.start(fresh=True)
        headers = {"Content-Type": "application/msgpack", "X-Datadog-Trace-Count": "1",
                   "Datadog-Meta-Tracer-Version": "3.19.9", "Datadog-Meta-Lang": "python"}

        # Warm: keep-alive connections to the agent now sit in the proxy's pool.
        assert requests.get(proxy.url + "/info", timeout=10).status_code == 200
        assert requests.post(proxy.url + "/v0.4/traces", data=_tiny_v04_payload(), headers=headers,
                             timeout=10).status_code == 200

        own.stop()
        for attempt in range(3):
            started = time.monotonic()
            info = requests.get(proxy.url + "/info", timeout=15)
            took = time.monotonic() - started
            assert info.status_code == 502, f"attempt {attempt}: {info.status_code} {info.text[:200]}"
            assert took < 5, f"502 took {took:.1f} s: an unreachable upstream must be answered fast"
            body = info.json()
            assert body.get("error") == "upstream_unreachable" and str(own.port) in body.get("upstream", ""), body
            traces = requests.post(proxy.url + "/v0.4/traces", data=_tiny_v04_payload(), headers=headers, timeout=15)
            assert traces.status_code == 502, traces.text[:200]

        # An app whose agent is gone sees it: the tracer logs the 502.
        down = run_app("tagged_checkout.py", proxy.agent_url, V04, workdir / "app-down", DD_SERVICE=APP.SERVICE)
        assert any("502" in ln or "failed to send" in ln for ln in down.tracer_errors()), down.describe()

        # The admin routes still answer, and the report counts the outcomes.
        assert requests.get(proxy.url + "/compat/health", timeout=5).status_code == 200
        unreachable = proxy.report_json()["traffic"].get("proxy_errors", {}).get("upstream_unreachable", {})
        assert sum(unreachable.values()) >= 6, f"502s are not all counted in the report: {unreachable}"

        # The agent returns on the same port: the proxy forwards again, without a restart.
        own.start()
        wait_until(lambda: requests.get(proxy.url + "/info", timeout=5).status_code == 200, 15,
                   "the proxy to reach the returned agent", on_timeout=proxy.log_tail)
        own.start_session()
        up = run_app("tagged_checkout.py", proxy.agent_url, V04, workdir / "app-up", DD_SERVICE=APP.SERVICE)
        assert up.returncode == 0 and up.tracer_errors() == [], up.describe()
        time.sleep(0.3)
        spans = all_spans(own.session_traces())
        names = sorted(s["name"] for s in spans)
        assert names == sorted(APP.SPAN_NAMES), f"after recovery the agent got {names}"
    finally:
        own.stop()


def test_agent_outage_while_an_app_sends(proxies, workdir):
    """Mid-run: the agent goes away while a job sends a trace every 0.1 s and comes back on the same
    port; the job's tracer sees the 502s, and traces flow again without restarting anything."""
    own = TestAgent(workdir / "agent").start()
    try:
        proxy = proxies(own.url)
        proxy.start(fresh=True)
        # DD_TRACE_LOGGING_RATE=0: ddtrace logs each call site at most once a minute by default, so a
        # second "dropping 1 traces" within the run was swallowed (the flake "58 delivered + 1 dropped
        # != 60": 58 one-trace payloads reached the agent, 2 were dropped, 1 was logged).
        app = AppProcess("ticker.py", proxy.agent_url, V04, workdir / "ticker", DD_SERVICE=TICKER.SERVICE,
                         TICK_COUNT="60", TICK_SECONDS="0.1", DD_TRACE_LOGGING_RATE="0")
        try:
            wait_until(lambda: proxy.report_json()["traffic"]["traces"] >= 5, 30, "the first traces",
                       on_timeout=proxy.log_tail)
            own.stop()
            wait_until(lambda: sum(proxy.report_json()["traffic"].get("proxy_errors", {})
                                   .get("upstream_unreachable", {}).values()) >= 2, 20, "502s while the agent is gone",
                       on_timeout=proxy.log_tail)
            own.start()
            run = app.wait(timeout=120)
        finally:
            if app.popen.poll() is None:
                app.popen.kill()
        assert run.returncode == 0, run.describe()
        # Every trace either reached one of the two agent lives (the tracer retries after a 502) or
        # was dropped by the tracer, which then says so; the proxy counted every attempt once.
        # Traces, not requests: one payload may carry several (the agent logs each payload's count).
        agent_log = own.log_text()
        # Every answer the agent gave, whatever its status: a request in flight as the agent shuts down
        # can be answered with another status than 200, and the proxy relays it (not a proxy error).
        delivered_requests = len(re.findall(r'"POST /v0\.4/traces HTTP/1\.1" \d{3} ', agent_log))
        delivered = sum(int(m) for m in re.findall(r"received trace for token \S+ payload with (\d+) trace chunks",
                                                   agent_log))
        dropped = sum(int(m) for m in re.findall(r"dropping (\d+) traces", run.stderr))
        assert delivered + dropped == 60, f"{delivered} delivered + {dropped} dropped != 60\n" + run.describe()
        traffic = settle(proxy)["traffic"]
        refused = traffic["proxy_errors"].get("upstream_unreachable", {}).get("/v0.4/traces", 0)
        assert refused >= 1, f"no trace payload met the outage: {traffic['proxy_errors']}"
        failed = sum(by_endpoint.get("/v0.4/traces", 0) for by_endpoint in traffic["proxy_errors"].values())
        assert traffic["requests_by_endpoint"]["/v0.4/traces"] == delivered_requests + failed, traffic
        after = [s for s in all_spans(own.get("/test/traces")) if s["service"] == TICKER.SERVICE]
        assert after, "no trace reached the agent after it came back"
    finally:
        own.stop()
