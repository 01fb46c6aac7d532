"""apps/tagged_checkout.py (manual spans, every kind of tag value, a struct tag) through the proxy,
in v0.4, v0.5 and v0.4 with the legacy Python writer (PUT), compared with a direct run."""
from __future__ import annotations

import pytest

from harness import MODES, Proxy, app_constants, all_spans, count_by, diff_traces, findings
from scenarios import run_scenario
from shared_checks import (  # noqa: F401  (collected here, with this module's `outcome`)
    test_agent_received_the_same_requests, test_metrics_agree_with_report, test_report_file_and_routes_agree,
    test_report_traffic_matches_agent, test_telemetry_and_info_pass_through, test_trace_request_headers_unchanged)
from conftest import ARTIFACTS

APP = app_constants("tagged_checkout.py")

SERVICE = APP.SERVICE
REPR_KEYS = set(APP.EXPECTED_REPR_KEYS)
STRUCT_KEY = APP.EXPECTED_STRUCT_KEY


@pytest.fixture(scope="module", params=MODES, ids=lambda m: m.name)
def outcome(request, binary, agent):
    mode = request.param
    workdir = ARTIFACTS / f"manual-{mode.name}"
    proxy = Proxy(binary, workdir / "proxy", agent.url)
    try:
        yield run_scenario(f"manual-{mode.name}", "tagged_checkout.py", mode, agent, proxy, workdir,
                           DD_SERVICE=SERVICE)
    finally:
        proxy.stop()


def test_app_saw_no_error(outcome):
    for run in (outcome.direct, outcome.proxied):
        assert run.returncode == 0, run.describe()
        assert run.tracer_errors() == [], run.describe()
        assert run.summary.get("repr_keys") == sorted(REPR_KEYS), run.describe()


def test_agent_received_the_same_traces(outcome):
    spans = all_spans(outcome.direct_traces)
    assert len(outcome.direct_traces) == 1, "direct run: expected 1 trace"
    assert sorted(s["name"] for s in spans) == sorted(APP.SPAN_NAMES)
    assert diff_traces(outcome.direct_traces, outcome.proxied_traces) == ""


def test_report_has_tag_repr_keys(outcome):
    repr_findings = findings(outcome.live_report, "V4-TAG-REPR", SERVICE)
    keys = count_by(repr_findings, "key")
    assert set(keys) == REPR_KEYS, f"V4-TAG-REPR keys: missing {REPR_KEYS - set(keys)}, extra {set(keys) - REPR_KEYS}"
    assert all(n == 1 for n in keys.values()), f"each key is set once in one run: {keys}"


def test_report_tag_numeric_keys(outcome):
    """Numbers under user keys (set_tag with int/float, set_metric) are listed once per key, to verify."""
    keys = set(count_by(findings(outcome.live_report, "V4-TAG-NUMERIC", SERVICE), "key"))
    assert keys == set(APP.EXPECTED_NUMERIC_KEYS)


def test_report_struct_tag_only_on_v04(outcome):
    struct = findings(outcome.live_report, "V4-STRUCT-TAG", SERVICE)
    if "v0.5" in outcome.name:
        assert struct == [], "v0.5 carries no meta_struct: no V4-STRUCT-TAG finding can be right"
    else:
        assert count_by(struct, "key") == {STRUCT_KEY: 1}
