"""Unix domain sockets on both sides: app → unix socket → proxy → unix socket → test agent, as a
Datadog Agent offers them (DD_TRACE_AGENT_URL=unix:///…). Admin routes on their own TCP listener."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from harness import MODES, TestAgent, app_constants, count_by, diff_traces, findings, free_port, run_app
from scenarios import settle

APP = app_constants("tagged_checkout.py")


@pytest.fixture
def sockets():
    d = Path(tempfile.mkdtemp(prefix="tc-e2e-", dir="/tmp"))  # short: sun_path holds 108 bytes
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("mode", [MODES[0], MODES[2]], ids=lambda m: m.name)
def test_unix_socket_both_sides(mode, proxies, workdir, sockets):
    agent = TestAgent(workdir / "agent", uds=sockets / "agent.sock").start()
    try:
        admin = free_port()
        proxy = proxies(f"unix://{sockets}/agent.sock", port=admin, listen=f"unix://{sockets}/proxy.sock",
                        extra_args=["--admin-listen", f"127.0.0.1:{admin}"])
        proxy.start(fresh=True)

        agent.start_session()
        direct = run_app("tagged_checkout.py", f"unix://{sockets}/agent.sock", mode, workdir / "direct",
                         DD_SERVICE=APP.SERVICE)
        direct_traces = agent.session_traces()
        agent.start_session()
        proxied = run_app("tagged_checkout.py", proxy.agent_url, mode, workdir / "proxied", DD_SERVICE=APP.SERVICE)
        report = settle(proxy)
        proxied_traces = agent.session_traces()

        for run in (direct, proxied):
            assert run.returncode == 0 and run.tracer_errors() == [], run.describe()
        assert len(direct_traces) == 1
        assert diff_traces(direct_traces, proxied_traces) == ""
        assert set(count_by(findings(report, "V4-TAG-REPR", APP.SERVICE), "key")) == set(APP.EXPECTED_REPR_KEYS)
        assert report["traffic"]["requests_by_endpoint"].get("/info", 0) >= 1, "the tracer's /info did not pass"
    finally:
        agent.stop()
