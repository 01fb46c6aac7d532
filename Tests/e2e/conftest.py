"""Fixtures of the end-to-end suite: one Datadog test agent for the session, proxies per test,
and the direct runs (app → test agent, no proxy) that proxied runs are compared against."""
from __future__ import annotations

import re
import shutil
import signal
import sys
from pathlib import Path

import pytest

from harness import (REPO, Proxy, TestAgent, kill_all, trace_compat_binary)

ARTIFACTS = REPO / ".e2e"


def pytest_configure(config):
    ARTIFACTS.mkdir(exist_ok=True)
    if "ddtrace" in sys.modules:  # see pytest.ini: its at-fork hooks would run in every child we start
        raise pytest.UsageError("ddtrace is loaded in the test process: run with -p no:ddtrace (pytest.ini does)")

    def stop(signum, frame):  # `timeout` or CI stopping the run: reap every child, then exit
        kill_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def pytest_sessionfinish(session, exitstatus):
    kill_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80]


@pytest.fixture(scope="session")
def binary() -> Path:
    return trace_compat_binary()


@pytest.fixture(scope="session")
def agent(tmp_path_factory) -> TestAgent:
    """The upstream: ddapm-test-agent on a free loopback port, for the whole session."""
    a = TestAgent(ARTIFACTS / "test-agent").start()
    yield a
    a.stop()


@pytest.fixture
def workdir(request) -> Path:
    """A per-test folder under .e2e/ (kept after the run: logs of the proxy, agent and apps)."""
    d = ARTIFACTS / _slug(request.node.name)
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


@pytest.fixture
def proxies(request, binary, workdir):
    """Makes proxies for one test; all are stopped at its end, with their log tails shown on failure."""
    made: list[Proxy] = []

    def make(upstream: str, name: str = "proxy", **kw) -> Proxy:
        p = Proxy(binary, workdir / name, upstream, **kw)
        made.append(p)
        return p

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for p in made:
        p.stop()
        if failed:
            print(p.log_tail())
