"""Byte for byte: the real requests of a direct ddtrace run, replayed through the proxy, reach the
test agent with identical bodies and headers, and the proxy answers what the agent answers."""
from __future__ import annotations

import base64

import msgpack
import requests

from harness import Mode, app_constants, run_app

APP = app_constants("tagged_checkout.py")
DROP = {"Host", "Content-Length"}  # requests sets both itself
HOP_BY_HOP = {"Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Proxy-Connection"}


def recorded_requests(agent, workdir, mode: Mode) -> list[dict]:
    agent.start_session()
    run = run_app("tagged_checkout.py", agent.url, mode, workdir / mode.name, DD_SERVICE=APP.SERVICE)
    assert run.returncode == 0 and run.tracer_errors() == [], run.describe()
    return [r for r in agent.session_requests() if "/traces" in r["url"] or "telemetry" in r["url"]]


def replay(base_url: str, req: dict) -> requests.Response:
    path = "/" + req["url"].split("/", 3)[-1]
    headers = {k: v for k, v in req["headers"].items() if k not in DROP}
    return requests.request(req["method"], base_url + path, data=base64.b64decode(req["body"]),
                            headers=headers, timeout=30)


def test_replayed_requests_reach_agent_unchanged(agent, proxies, workdir):
    proxy = proxies(agent.url)
    proxy.start(fresh=True)
    for mode in (Mode("v0.4"), Mode("v0.5"), Mode("v0.4", native=False)):
        originals = recorded_requests(agent, workdir, mode)
        assert any("/traces" in r["url"] for r in originals), f"{mode.name}: the direct run sent no traces"

        agent.start_session()
        answers = [replay(proxy.url, r) for r in originals]
        received = [r for r in agent.session_requests() if "/traces" in r["url"] or "telemetry" in r["url"]]
        assert len(received) == len(originals), f"{mode.name}: {len(received)} of {len(originals)} arrived"
        by_body = {r["body"]: r for r in received}
        for original, answer in zip(originals, answers):
            got = by_body.get(original["body"])
            assert got is not None, f"{mode.name}: {original['url']} arrived with a different body"
            assert got["method"] == original["method"]
            # what was sent, less hop-by-hop headers (RFC 9110 §7.6.1: a proxy drops them)
            sent = {k: v for k, v in answer.request.headers.items() if k not in DROP | HOP_BY_HOP}
            assert {k: v for k, v in got["headers"].items() if k not in DROP} == sent, original["url"]

        # The proxy's answers are the agent's answers (status, body).
        agent.start_session()
        for original, via_proxy in zip(originals, answers):
            direct = replay(agent.url, original)
            assert (via_proxy.status_code, via_proxy.content) == (direct.status_code, direct.content), original["url"]

    info_direct = requests.get(agent.url + "/info", timeout=10)
    info_proxied = requests.get(proxy.url + "/info", timeout=10)
    assert info_proxied.status_code == info_direct.status_code == 200
    assert info_proxied.content == info_direct.content


def test_agent_rejection_is_relayed(agent, proxies):
    """The agent's own validation (X-Datadog-Trace-Count must match the payload) answers 400; the
    proxy hands that answer back as it is."""
    proxy = proxies(agent.url)
    proxy.start(fresh=True)
    span = {"trace_id": 11, "span_id": 12, "parent_id": 0, "name": "bad.count", "service": "liar", "resource": "r",
            "type": "custom", "start": 1, "duration": 1, "error": 0, "meta": {"flag": "True"}, "metrics": {}}
    headers = {"Content-Type": "application/msgpack", "X-Datadog-Trace-Count": "3",
               "Datadog-Meta-Tracer-Version": "3.19.9", "Datadog-Meta-Lang": "python"}
    answer = requests.post(proxy.url + "/v0.4/traces", data=msgpack.packb([[span]]), headers=headers, timeout=10)
    assert answer.status_code == 400, answer.text[:300]
    assert "X-Datadog-Trace-Count value (3) does not match" in answer.text
