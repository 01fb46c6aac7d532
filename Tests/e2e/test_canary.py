"""V4-CANARY-DIFF with real traffic: apps/canary_app.py (Django: ORM on two database aliases, cache,
Django and Jinja2 templates) run on ddtrace 3.19.9 (.venv) and then on ddtrace 4.x (.venv-v4, see
scripts/e2e/requirements-v4.txt), both as DD_SERVICE=canary-shop, through ONE proxy to the real
test agent. The oracle is what the test agent received from each run: the report must name as gone
exactly the operations the 4.x run no longer produced (Django's database, cache and template
spans), each with the 3.x span count the agent saw, the V4-DJANGO-MINIMAL prediction beside it,
and never the driver's sqlite spans nor the Jinja2 spans v4 keeps."""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass

import pytest
import requests

from conftest import ARTIFACTS
from harness import APPS, REPO, Proxy, _app_env, all_spans, django_minimal_kind
from scenarios import settle

SERVICE = "canary-shop"
ROUNDS = 8
V4_PYTHON = REPO / ".venv-v4" / "bin" / "python"


@dataclass
class Canary:
    runs: dict
    spans: dict      # "v3" / "v4" → the spans the test agent received from that run
    report: dict
    markdown: str
    html: str
    metrics: str


def op(span: dict) -> tuple:
    return (span["name"], span.get("type", "") or "", span.get("meta", {}).get("component", ""))


@pytest.fixture(scope="module")
def canary(binary, agent):
    if not V4_PYTHON.exists():
        pytest.fail(f"{V4_PYTHON} missing: scripts/e2e/setup.sh installs ddtrace 4.x there")
    workdir = ARTIFACTS / "canary"
    shutil.rmtree(workdir, ignore_errors=True)
    proxy = Proxy(binary, workdir / "proxy", agent.url)
    proxy.start(fresh=True)
    try:
        runs, spans = {}, {}
        for label, python in (("v3", sys.executable), ("v4", str(V4_PYTHON))):
            (workdir / label).mkdir(parents=True)
            agent.start_session()
            env = _app_env(proxy.agent_url, _Defaults(), {
                "DD_SERVICE": SERVICE, "CANARY_DB_DIR": str(workdir / label), "CANARY_ROUNDS": str(ROUNDS)})
            runs[label] = subprocess.run([python, str(APPS / "canary_app.py")], env=env, cwd=workdir / label,
                                         capture_output=True, text=True, timeout=180)
            (workdir / label / "stderr.txt").write_text(runs[label].stderr)
            assert runs[label].returncode == 0, runs[label].stdout[-2000:] + runs[label].stderr[-4000:]
            report = settle(proxy)
            spans[label] = all_spans(agent.session_traces())
        md = requests.get(proxy.url + "/compat/report.md", timeout=10).text
        html = requests.get(proxy.url + "/compat/report.html", timeout=10).text
        metrics = requests.get(proxy.url + "/metrics", timeout=10).text
        yield Canary(runs, spans, report, md, html, metrics)
    finally:
        proxy.stop()


class _Defaults:
    """Each tracer's own defaults: no API version or writer forced (what a canary really sends)."""
    name = "defaults"

    def env(self) -> dict:
        return {}


def test_both_tracers_ran_as_the_same_app(canary):
    import json
    versions = {label: json.loads(r.stdout.strip().splitlines()[-1])["ddtrace"] for label, r in canary.runs.items()}
    assert versions["v3"] == "3.19.9" and versions["v4"].startswith("4."), versions
    app = canary.report["canary"][SERVICE]
    assert sorted(app["versions"]) == ["3", "4"], app["versions"].keys()
    assert canary.report["traffic"]["decode_errors"]["count"] == 0, canary.report["traffic"]["decode_errors"]


def test_gone_operations_are_exactly_what_v4_stopped_sending(canary):
    v3, v4 = Counter(op(s) for s in canary.spans["v3"]), Counter(op(s) for s in canary.spans["v4"])
    # The oracle, from the test agent: what the 4.x run no longer produced at all.
    gone = {o: n for o, n in v3.items() if o not in v4}
    kinds = {django_minimal_kind({"name": o[0], "type": o[1], "meta": {"component": o[2]}}) for o in gone}
    assert kinds == {"database", "cache", "template"}, gone  # v4's minimal Django mode, really
    rows = canary.report["canary"][SERVICE]["diff"]
    got = {(r["operation"], r["type"], r["component"]): r for r in rows if r["change"] == "gone"}
    assert set(got) == set(gone), (sorted(got), sorted(gone))
    traces = canary.report["canary"][SERVICE]["versions"]["3"]["traces"]
    for o, n in gone.items():
        r = got[o]
        assert r["before"]["spans"] == n and r["before"]["of"] == traces, (o, r)
        assert r["before"]["rate"] == round(n / traces, 4) and r["after"]["spans"] == 0, (o, r)
        assert r["predicted_by"] == "V4-DJANGO-MINIMAL", r
        kind = django_minimal_kind({"name": o[0], "type": o[1], "meta": {"component": o[2]}})
        assert r["predicted_kind"] == kind, r
    # Kept by v4: the driver's spans and Jinja2's are never reported gone or lower.
    for r in rows:
        if r["change"] in ("gone", "lower"):
            assert r["component"] not in ("sqlite", "jinja2"), r
    assert any(o[2] == "jinja2" for o in v4) and any(o[2] == "sqlite" for o in v4)


def test_prediction_beside_measurement_in_every_format(canary):
    findings = [f for f in canary.report["findings"] if f["rule"] == "V4-CANARY-DIFF"]
    gone = [f for f in findings if f["kind"] == "gone"]
    assert len(gone) == 3 and all(f["app"] == SERVICE for f in findings), findings
    predicted = Counter()
    for f in canary.report["findings"]:
        if f["rule"] == "V4-DJANGO-MINIMAL" and f["app"] == SERVICE:
            predicted[f["kind"]] += f["count"]
    rows = [r for r in canary.report["canary"][SERVICE]["diff"] if r["change"] == "gone"]
    for r in rows:
        assert r["predicted_count"] == predicted[r["predicted_kind"]], (r, predicted)
    assert set(r["predicted_kind"] for r in rows) == set(predicted)
    assert "## Canary: 3.x and 4.x side by side" in canary.markdown
    assert "V4-DJANGO-MINIMAL database" in canary.markdown
    assert canary.html.count('<tr data-change="gone">') == 3
    total = sum(f["count"] for f in findings)
    lines = [ln for ln in canary.metrics.splitlines()
             if ln.startswith("trace_compat_findings_total{") and 'rule="V4-CANARY-DIFF"' in ln]
    assert lines and float(lines[0].rsplit(" ", 1)[1]) == total, (lines, total)
