"""apps/bookshelf_app.py (Django: sqlite ORM, LocMem cache, templates) through the proxy, in v0.4,
v0.5 and v0.4 with the legacy writer, and once with DD_DJANGO_TRACING_MINIMAL=true (what v4 does)."""
from __future__ import annotations

import sys

import pytest

from harness import APPS, MODES, Mode, Proxy, all_spans, count_by, diff_traces, django_minimal_kind, findings
from scenarios import run_scenario
from shared_checks import (  # noqa: F401  (collected here, with this module's `outcome`)
    test_agent_received_the_same_requests, test_metrics_agree_with_report, test_report_file_and_routes_agree,
    test_report_traffic_matches_agent, test_telemetry_and_info_pass_through, test_trace_request_headers_unchanged)
from conftest import ARTIFACTS

sys.path.insert(0, str(APPS))
from bookshelf.script import SCRIPT, expected_django_spans  # noqa: E402

SERVICE = "bookshelf"
EXPECTED = expected_django_spans()
SCENARIOS = [(m, False) for m in MODES] + [(Mode("v0.4"), True)]


def _id(param):
    mode, minimal = param
    return mode.name + ("-minimal" if minimal else "-full")


@pytest.fixture(scope="module", params=SCENARIOS, ids=_id)
def outcome(request, binary, agent):
    mode, minimal = request.param
    name = f"django-{_id(request.param)}"
    workdir = ARTIFACTS / name
    proxy = Proxy(binary, workdir / "proxy", agent.url)
    env = {"DD_SERVICE": SERVICE, "DD_DJANGO_TRACING_MINIMAL": "true" if minimal else "false"}
    try:
        o = run_scenario(name, "bookshelf_app.py", mode, agent, proxy, workdir, **env)
        o.extra["minimal"] = minimal
        yield o
    finally:
        proxy.stop()


def kinds_in(traces) -> dict:
    out = {"database": 0, "cache": 0, "template": 0}
    for span in all_spans(traces):
        kind = django_minimal_kind(span)
        if kind:
            out[kind] += 1
    return out


def test_app_saw_no_error(outcome):
    for run in (outcome.direct, outcome.proxied):
        assert run.returncode == 0, run.describe()
        assert run.tracer_errors() == [], run.describe()
        assert len(run.summary.get("statuses", [])) == len(SCRIPT), run.describe()


def test_agent_received_the_same_traces(outcome):
    requests_spans = [s for s in all_spans(outcome.direct_traces) if s["name"] == "django.request"]
    assert len(requests_spans) == EXPECTED["requests"]
    assert diff_traces(outcome.direct_traces, outcome.proxied_traces) == ""


def test_direct_run_has_the_spans_the_app_implies(outcome):
    """The oracle: counted in what the agent got directly, independent of trace-compat."""
    kinds = kinds_in(outcome.direct_traces)
    if outcome.extra["minimal"]:
        assert kinds == {"database": 0, "cache": 0, "template": 0}
    else:
        assert kinds["cache"] == EXPECTED["cache"] and kinds["template"] == EXPECTED["template"], kinds
        assert kinds["database"] > 20, kinds  # migrate + the ORM calls: many, all twins of sqlite.query spans


def test_report_django_minimal_per_kind(outcome):
    got = count_by(findings(outcome.live_report, "V4-DJANGO-MINIMAL"), "kind")
    if outcome.extra["minimal"]:
        assert got == {}, "DD_DJANGO_TRACING_MINIMAL=true: nothing for v4 to drop, yet reported"
    else:
        assert got == kinds_in(outcome.direct_traces)


def test_no_tag_findings_for_framework_tags(outcome):
    """The app sets no tags itself: ddtrace's and Django's own tags must not be reported."""
    assert findings(outcome.live_report, "V4-TAG-REPR") == []
    assert findings(outcome.live_report, "V4-STRUCT-TAG") == []
