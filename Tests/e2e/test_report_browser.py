"""The HTML report as a person sees it: headless Chromium renders /compat/report.html and the test
reads the findings table out of the rendered DOM (--dump-dom)."""
from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from harness import Mode, app_constants, findings, run_app
from scenarios import settle

APP = app_constants("tagged_checkout.py")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed and could not be: scripts/e2e/setup.sh installs the Debian "
                "package 'chromium' (apt-get install chromium); the HTML report was not checked in a browser")


class FindingsTable(HTMLParser):
    """Collects the cell texts of every <tr> inside <table id="findings"> (header rows flagged)."""

    def __init__(self):
        super().__init__()
        self.depth = 0          # nesting of tables inside the findings table
        self.rows: list[tuple[bool, list[str]]] = []
        self.found = False
        self._cells: list[str] | None = None
        self._text: list[str] | None = None
        self._header = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            if self.depth or dict(attrs).get("id") == "findings":
                self.depth += 1
                self.found = True
        elif self.depth and tag == "tr":
            self._cells, self._header = [], False
        elif self.depth and tag in ("td", "th") and self._cells is not None:
            self._text = []
            self._header |= tag == "th"

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self._text is not None and self._cells is not None:
            self._cells.append(" ".join("".join(self._text).split()))
            self._text = None
        elif self.depth and tag == "tr" and self._cells is not None:
            self.rows.append((self._header, self._cells))
            self._cells = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def test_html_report_renders_findings_table(agent, proxies, workdir):
    browser = chromium()
    proxy = proxies(agent.url)
    proxy.start(fresh=True)
    run = run_app("tagged_checkout.py", proxy.agent_url, Mode("v0.4"), workdir / "app", DD_SERVICE=APP.SERVICE)
    assert run.returncode == 0 and run.tracer_errors() == [], run.describe()
    report = settle(proxy)

    profile = workdir / "chromium-profile"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
           "--virtual-time-budget=5000", "--dump-dom", proxy.url + "/compat/report.html"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    (workdir / "report.dom.html").write_text(done.stdout)
    assert done.returncode == 0 and done.stdout.strip(), f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"

    table = FindingsTable()
    table.feed(done.stdout)
    assert table.found, "no <table id=\"findings\"> in the rendered page (saved as report.dom.html)"
    rows = [cells for header, cells in table.rows if not header and cells]
    assert len(rows) == len(report["findings"]), (
        f"{len(rows)} rows in the rendered table, {len(report['findings'])} findings in the JSON report")

    def rows_naming(rule, key=None):
        return [c for c in rows if any(rule in cell for cell in c) and (key is None or any(key in cell for cell in c))]

    for key in APP.EXPECTED_REPR_KEYS:
        assert rows_naming("V4-TAG-REPR", key), f"no V4-TAG-REPR row for {key}"
    assert rows_naming("V4-STRUCT-TAG", APP.EXPECTED_STRUCT_KEY), "no V4-STRUCT-TAG row"
    for rule in {f["rule"] for f in report["findings"]}:
        assert len(rows_naming(rule)) == len(findings(report, rule)), f"rows of {rule} differ from the JSON report"
