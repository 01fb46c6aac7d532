"""Checks every scenario module shares (imported into test_manual_tags.py and test_django.py, where
pytest collects them with that module's `outcome` fixture)."""
from __future__ import annotations

import re


TELEMETRY = ("POST", "/telemetry/proxy/api/v2/apmtelemetry")


def telemetry_requests(reqs) -> list:
    return [r for r in reqs if (r["method"], "/" + r["url"].split("/", 3)[-1]) == TELEMETRY]


def request_kinds(reqs) -> set:
    """(method, path) of what the agent stored, less what the app sends or not by timing:
    remote-config polls, and telemetry (a short-lived ddtrace 3.19 app sends none in about one
    run in four, directly or through the proxy alike; whether the proxy passes on all the
    telemetry it gets is checked on its own below)."""
    return {(r["method"], "/" + r["url"].split("/", 3)[-1]) for r in reqs} - {("POST", "/v0.7/config"), TELEMETRY}


def test_agent_received_the_same_requests(outcome):
    assert request_kinds(outcome.proxied_requests) == request_kinds(outcome.direct_requests)
    method = "PUT" if "pywriter" in outcome.name else "POST"
    api = "v0.5" if "v0.5" in outcome.name else "v0.4"
    assert (method, f"/{api}/traces") in request_kinds(outcome.proxied_requests)


def test_telemetry_and_info_pass_through(outcome):
    assert outcome.info_requests_at_agent >= 1, "the tracer's GET /info never reached the agent through the proxy"
    # Every telemetry request the proxy received reached the agent (none may be lost on the way).
    got = outcome.live_report.get("traffic", {}).get("requests_by_endpoint", {}).get(TELEMETRY[1], 0)
    reached = len(telemetry_requests(outcome.proxied_requests))
    assert reached == got, f"the proxy received {got} telemetry request(s), the agent {reached}"
    if got:
        assert outcome.proxied_telemetry, "telemetry went through the proxy, but the agent decoded none"


def test_report_file_and_routes_agree(outcome):
    def project(report):
        return sorted((f.get("rule"), f.get("service"), f.get("key"), f.get("kind"), f.get("count"))
                      for f in report.get("findings", []))

    assert outcome.proxy_exit == 0, outcome.proxy.log_tail()
    assert outcome.live_report.get("schema") == "trace-compat/report/v1"
    assert outcome.file_report is not None, f"no report file at {outcome.proxy.report}"
    assert project(outcome.file_report) == project(outcome.live_report)
    assert project(outcome.plain_report) == project(outcome.live_report)
    for rule in {f["rule"] for f in outcome.live_report["findings"]}:
        assert rule in outcome.report_md
    for suffix in (".md", ".html"):
        assert outcome.proxy.report.with_suffix(suffix).exists(), f"no {suffix} beside the report file"


def _trace_requests(reqs) -> list[dict]:
    found = [r for r in reqs if "/traces" in r["url"]]
    assert found, "the agent stored no trace request"
    return found


def test_trace_request_headers_unchanged(outcome):
    """The agent sees the tracer's headers as the tracer sent them (Host too: it names the proxy)."""
    # The payload's length varies with ids, and how many traces one payload holds with timing.
    varying = {"content-length", "host", "x-datadog-trace-count"}

    def stable(request):
        return {k.lower(): v for k, v in request["headers"].items() if k.lower() not in varying}

    direct = [stable(r) for r in _trace_requests(outcome.direct_requests)]
    proxied = _trace_requests(outcome.proxied_requests)
    for request in proxied:
        assert stable(request) == direct[0]
        assert request["headers"].get("Host") == outcome.proxy.listen
    counts = [int({k.lower(): v for k, v in r["headers"].items()}["x-datadog-trace-count"]) for r in proxied]
    assert sum(counts) == len(outcome.direct_traces), counts


def test_report_traffic_matches_agent(outcome):
    """The proxy's own count of what passed equals what the agent decoded in the direct run."""
    traffic = outcome.live_report["traffic"]
    spans = sum(len(t) for t in outcome.direct_traces)
    assert traffic["spans"] == spans and traffic["traces"] == len(outcome.direct_traces), traffic
    api = "v0.5" if "v0.5" in outcome.name else "v0.4"
    assert traffic["trace_payloads"] == {api: len(_trace_requests(outcome.proxied_requests))}, traffic
    assert traffic["decode_errors"]["count"] == 0 and not traffic.get("proxy_errors"), traffic
    by_endpoint = traffic["requests_by_endpoint"]
    assert by_endpoint.get("/info", 0) == outcome.info_requests_at_agent, by_endpoint
    reached = telemetry_requests(outcome.proxied_requests)
    assert by_endpoint.get(TELEMETRY[1], 0) == len(reached), by_endpoint
    if reached:
        assert traffic["telemetry_messages"] >= 1, traffic


def test_metrics_agree_with_report(outcome):
    """Prometheus /metrics: findings by rule equal the report's totals; trace requests are counted."""
    gauges: dict[str, float] = {}
    for m in re.finditer(r'^trace_compat_findings_total\{rule="([^"]+)",[^}]*\} (\S+)$', outcome.metrics, re.M):
        gauges[m.group(1)] = gauges.get(m.group(1), 0.0) + float(m.group(2))
    totals: dict[str, int] = {}
    for f in outcome.live_report["findings"]:
        totals[f["rule"]] = totals.get(f["rule"], 0) + f["count"]
    assert gauges == {rule: float(n) for rule, n in totals.items()}, outcome.metrics[:2000]
    api = "v0.5" if "v0.5" in outcome.name else "v0.4"
    pattern = r'^trace_compat_requests_total\{endpoint="/%s/traces",status="200"\} (\S+)$' % re.escape(api)
    served = sum(float(m.group(1)) for m in re.finditer(pattern, outcome.metrics, re.M))
    assert served == len(_trace_requests(outcome.proxied_requests)), outcome.metrics[:2000]
