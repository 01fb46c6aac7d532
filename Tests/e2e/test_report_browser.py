"""The HTML report as a person sees it: headless Chromium renders /compat/report.html and the test
reads the findings table out of the rendered DOM (--dump-dom)."""
from __future__ import annotations

import html
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import threading
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness import REPO, Mode, app_constants, findings, run_app
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
    """Collects the cell texts of every <tr> inside the per-rule <table class="findings"> (header rows flagged)."""

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
            if self.depth or "findings" in (dict(attrs).get("class") or "").split():
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
    assert table.found, "no <table class=\"findings\"> in the rendered page (saved as report.dom.html)"
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


# The report as a person reads it on a laptop and on a phone: a report audited from the shared
# captures, rendered by headless Chromium at 1440 px and 390 px, measured in the page itself.

SHARED_FIXTURES = Path(os.environ.get("TRACE_COMPAT_SHARED", REPO.parent / "shared")) / "fixtures"
DOCS = REPO / "docs"

# Headless Chromium will not make a window narrower than 500 px, so the report is laid out in an
# <iframe> exactly `width` px wide (its own viewport: media queries and innerWidth are the
# iframe's, as in a browser's device mode). This script, in the wrapper page (the report itself has
# none), measures the report's document and writes the result into <pre id="measured"> for --dump-dom.
FRAME = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body style="margin:0"><iframe id="f" src="report.html" style="border:0;display:block;width:WIDTHpx;height:HEIGHTpx"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const win = document.getElementById('f').contentWindow, doc = win.document;
  const W = win.innerWidth, out = {width: W, scrollWidth: doc.scrollingElement.scrollWidth};
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= W + 0.5; };
  const nums = [...doc.querySelectorAll('.chart .num')];
  out.chartNumbers = nums.length;
  out.chartNumbersHidden = nums.filter(e => !visible(e) || e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);
  out.rules = [...doc.querySelectorAll('article.rule')].map(a => ({
    rule: a.dataset.rule, fixes: a.querySelectorAll('.fix').length,
    rows: a.querySelectorAll('tr.finding').length,
    fixInRows: [...a.querySelectorAll('tr.finding')].filter(tr => tr.querySelector('.fix')).length}));
  out.fixes = doc.querySelectorAll('.fix').length;
  out.overflowing = [...doc.querySelectorAll('main *')].filter(e => !visible(e) && e.getBoundingClientRect().width > 0
      && !e.closest('details:not([open]) > :not(summary)')).slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 60));
  out.scrollers = [...doc.querySelectorAll('.scroll')].filter(e => e.scrollWidth > e.clientWidth + 1).length;
  out.emptyVisibleCells = [...doc.querySelectorAll('table.stack td')].filter(td => !td.textContent.trim() && td.getBoundingClientRect().height > 0
      && win.getComputedStyle(td).display !== 'table-cell').length;
  out.stacked = [...doc.querySelectorAll('tr.finding')].filter(tr => win.getComputedStyle(tr).display === 'block').length;
  out.tallestFindingRow = Math.max(0, ...[...doc.querySelectorAll('tr.finding')].map(tr => Math.round(tr.getBoundingClientRect().height)));
  out.icon = (doc.querySelector('link[rel=icon]') || {}).href || '';
  const pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = JSON.stringify(out); document.body.append(pre);
});
</script></body></html>
"""


class Served:
    """The audited report over HTTP on loopback, every request path recorded (a favicon request
    would show here, as it would at the proxy that serves the live report)."""

    def __init__(self, root: Path):
        paths = self.paths = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(root), **kw)

            def log_message(self, fmt, *args):
                paths.append(self.path)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def chromium_run(browser, workdir, width, height, *args, timeout=120):
    profile = workdir / f"chromium-profile-{width}"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},{height}",
           "--virtual-time-budget=5000", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {done.stderr[-2000:]}"
    return done


def png_crop_width(data: bytes, width: int) -> bytes:
    """The left `width` columns of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes), with
    the standard library only (no ImageMagick here): unfilter each row (PNG spec, section 9), cut it,
    write it back unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        chunks.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    ihdr = chunks[0][1]
    w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(d for t, d in chunks if t == b"IDAT"))
    stride, prev, out = w * bpp, bytearray(w * bpp), bytearray()
    for y in range(h):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                row[i] = (row[i] + a) & 255
            elif f == 2:
                row[i] = (row[i] + b) & 255
            elif f == 3:
                row[i] = (row[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += b"\x00" + row[:min(width, w) * bpp]
        prev = row

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    head = struct.pack(">IIBBBBB", min(width, w), h, 8, color, 0, 0, 0)
    return data[:8] + chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(bytes(out), 9)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("width,height", [(1440, 1600), (390, 1600)])
def test_report_reads_on_laptop_and_phone(binary, workdir, width, height):
    browser = chromium()
    assert SHARED_FIXTURES.is_dir(), f"{SHARED_FIXTURES} is missing (set TRACE_COMPAT_SHARED)"
    site = workdir / "site"
    site.mkdir(exist_ok=True)
    audit = subprocess.run([str(binary), "audit", str(SHARED_FIXTURES), "--quiet", "--json", str(site / "report.json"),
                            "--html", str(site / "report.html")], capture_output=True, text=True, timeout=120)
    assert audit.returncode == 0, audit.stderr
    report = json.loads((site / "report.json").read_text())
    rules = sorted({f["rule"] for f in report["findings"]})
    assert len(rules) >= 2, f"the shared captures should give findings of several rules, got {rules}"
    (site / "frame.html").write_text(FRAME.replace("WIDTH", str(width)).replace("HEIGHT", str(height)))
    window = max(width, 500)

    served = Served(site)
    try:
        done = chromium_run(browser, workdir, window, height, "--dump-dom", served.url + "/frame.html")
        # The page as a person opens it, top level (the favicon check), then the screenshot.
        chromium_run(browser, workdir, window, height, "--dump-dom", served.url + "/report.html")
        shot = workdir / f"report-{width}.png"
        chromium_run(browser, workdir, window, height, f"--screenshot={shot}", served.url + "/frame.html")
    finally:
        served.close()
    if os.environ.get("TRACE_COMPAT_SCREENSHOTS"):  # docs/report-*.png, cut to the report's width
        (DOCS / f"report-{width}.png").write_bytes(png_crop_width(shot.read_bytes(), width))
    (workdir / f"measured-{width}.dom.html").write_text(done.stdout)
    m = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert m, "the measuring script did not run (saved as measured-*.dom.html)"
    got = json.loads(html.unescape(m.group(1)))
    (workdir / f"measured-{width}.json").write_text(json.dumps(got, indent=2))

    assert got["width"] == width
    assert got["scrollWidth"] <= got["width"], f"the page scrolls sideways: {got['scrollWidth']} > {width}: {got['overflowing']}"
    assert got["overflowing"] == [], got["overflowing"]
    assert got["scrollers"] == 0, "a table needs sideways scrolling inside the page"
    # Every number of the charts: one per rule, plus one per Django kind.
    django_kinds = {f["kind"] for f in report["findings"] if f["rule"] == "V4-DJANGO-MINIMAL"}
    assert got["chartNumbers"] == len(rules) + len(django_kinds)
    assert got["chartNumbersHidden"] == []
    # The fix once per rule, never on a row; every finding a row under its rule.
    assert sorted(r["rule"] for r in got["rules"]) == rules
    assert got["fixes"] == len(rules)
    for r in got["rules"]:
        assert r["fixes"] == 1 and r["fixInRows"] == 0, r
        assert r["rows"] == len([f for f in report["findings"] if f["rule"] == r["rule"]]), r
    assert got["emptyVisibleCells"] == 0
    assert got["icon"].startswith("data:image/svg+xml,")
    assert "/favicon.ico" not in served.paths, served.paths
    assert served.paths.count("/report.html") == 3, served.paths
    assert got["stacked"] == (len(report["findings"]) if width < 760 else 0), "one card per finding on a phone, table rows on a laptop"
