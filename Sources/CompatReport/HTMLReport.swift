import CompatRules

/// The HTML report: one self-contained page (inline CSS, no scripts, no external assets) that reads
/// on a phone (360 px) as well as on a wide screen (1920 px).
///
/// Structure a browser test can read (docs/report-schema.md): `<section id="findings">` holds one
/// `<article class="rule" data-rule="…">` per rule, with the rule's fix once (`.fix`) and a
/// `<table class="findings">` of one `<tr class="finding" data-rule="…">` per finding, the rule id
/// in its first cell. The page declares an inline icon so a browser never asks the server for
/// `/favicon.ico` (served by the proxy, it would be forwarded to the agent).
struct HTMLReport {
    let report: Report
    var out = ""

    init(report: Report) { self.report = report }

    /// A time for a table cell: the ISO 8601 text, allowed to wrap between date and time.
    static func time(_ t: ReportTime) -> String {
        t.iso8601.replacingOccurrences(of: "T", with: "<wbr>T")
    }

    static func esc(_ s: String) -> String {
        var o = ""
        o.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(ch)
            }
        }
        return o
    }

    mutating func put(_ s: String) { out += s + "\n" }

    func render() -> String {
        var h = self
        h.build()
        return h.out
    }

    /// The page's icon, inline (an SVG data URL) so that no `/favicon.ico` request is made.
    static let icon = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%23632ca6'/%3E%3Cpath d='M4 8.5l2.5 2.5L12 5' stroke='white' stroke-width='2' fill='none'/%3E%3C/svg%3E"

    static let style = """
    :root{--fg:#1f2328;--muted:#59636e;--line:#d8dee4;--soft:#f6f8fa;--brand:#632ca6;--breaks:#b42318;--changes:#9a5b00;--check:#1a5fb4}
    *{box-sizing:border-box}
    body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--fg);background:var(--soft)}
    main{max-width:1320px;margin:0 auto;padding:1.25rem clamp(.6rem,3vw,2rem) 3rem}
    h1{font-size:clamp(1.35rem,4.5vw,2rem);line-height:1.2;margin:.3em 0}
    h2{font-size:1.25rem;margin:0 0 .6rem} h3{font-size:1.05rem;margin:0}
    p{margin:.4rem 0} a{color:var(--brand)}
    .lead{color:var(--muted);max-width:60rem}
    .card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1rem clamp(.7rem,2.5vw,1.4rem);margin:1rem 0}
    code{font:.88em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef0f3;padding:.05em .3em;border-radius:4px;overflow-wrap:anywhere}
    .sev{display:inline-block;padding:.05em .6em;border-radius:999px;font-size:.78rem;font-weight:650;color:#fff;vertical-align:middle;white-space:nowrap}
    .sev.breaks{background:var(--breaks)} .sev.changes{background:var(--changes)} .sev.check{background:var(--check)}
    .stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5rem,1fr));gap:.6rem;margin:.8rem 0 0}
    .stat{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.5rem .75rem}
    .stat b{display:block;font-size:1.35rem;font-variant-numeric:tabular-nums} .stat span{color:var(--muted);font-size:.85rem}
    ul.short{padding-left:1.1rem;margin:.3rem 0} ul.short li{margin:.35rem 0}
    ul.verdict{list-style:none;padding:0;margin:.3rem 0} ul.verdict li{padding:.45rem 0;border-top:1px solid var(--line)}
    .muted{color:var(--muted);font-size:.88rem}
    .chart{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr);gap:.35rem .8rem;align-items:center;margin:.4rem 0 1rem}
    .chart .label{font-size:.85rem;overflow-wrap:anywhere}
    .chart .track{display:flex;align-items:center;gap:.4rem;min-width:0}
    .chart .bar{height:.9rem;border-radius:3px;background:var(--brand);flex:none;min-width:2px}
    .chart.amber .bar{background:var(--changes)}
    .chart .num{font-size:.85rem;font-variant-numeric:tabular-nums;white-space:nowrap}
    .rule{border-left:5px solid var(--line)} .rule.breaks{border-left-color:var(--breaks)} .rule.changes{border-left-color:var(--changes)} .rule.check{border-left-color:var(--check)}
    .rule header{display:flex;flex-wrap:wrap;align-items:center;gap:.3rem .6rem}
    .rule .title{flex-basis:100%;margin:.2rem 0 0;font-weight:550}
    .fix{background:#f4f0fa;border-radius:6px;padding:.55rem .85rem;margin:.7rem 0}
    .fix ul{margin:.3rem 0 0;padding-left:1.1rem}
    .scroll{overflow-x:auto}
    table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.4rem 0}
    th,td{padding:.4rem .5rem;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
    th{background:var(--soft);font-weight:600;white-space:nowrap}
    td{overflow-wrap:anywhere} td.w{min-width:11em} td.seen{min-width:10.5em} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap} td.id{white-space:nowrap}
    tr.found td{font-weight:600}
    details summary{cursor:pointer} details[open] summary{margin-bottom:.25rem}
    details .full{display:block;white-space:pre-wrap}
    ul.samples{margin:.2rem 0;padding-left:1rem}
    @media (max-width:760px){
    .chart{grid-template-columns:minmax(0,1fr);gap:.1rem}
    .chart .track{margin-bottom:.35rem}
    table.stack thead{display:none}
    table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:100%}
    table.stack tr{border:1px solid var(--line);border-radius:8px;margin:.5rem 0;padding:.3rem .6rem;background:#fff}
    table.stack td{border:0;padding:.15rem 0;display:grid;grid-template-columns:minmax(5.5rem,32%) minmax(0,1fr);gap:.6rem;text-align:left;white-space:normal}
    table.stack td.w,table.stack td.seen{min-width:0}
    table.stack td::before{content:attr(data-label);color:var(--muted);font-size:.8rem;font-weight:400}
    table.stack td:empty{display:none}
    }
    """

    /// Horizontal bars, one per (label, value, unit), scaled to the largest value. HTML, not SVG:
    /// the bar is a share of the row's width less room for the number, so the number stays inside
    /// the page from 360 px up.
    static func bars(_ items: [(label: String, value: Int, unit: String)], id: String, amber: Bool = false) -> String {
        guard !items.isEmpty else { return "" }
        let maxValue = max(1, items.map(\.value).max() ?? 1)
        var html = "<div class=\"chart\(amber ? " amber" : "")\" id=\"\(id)\" role=\"list\">"
        for item in items {
            let perMyriad = item.value * 10_000 / maxValue
            let width = "calc((100% - 6.5rem) * \(perMyriad) / 10000)"
            html += "<div class=\"label\" role=\"listitem\">\(esc(item.label))</div>"
            html += "<div class=\"track\"><span class=\"bar\" style=\"width:\(width)\"></span><span class=\"num\">\(item.value)\(item.unit.isEmpty ? "" : " " + esc(item.unit))</span></div>"
        }
        return html + "</div>"
    }

    /// A value cut for a cell, with the whole value one click (or hover) away when it was cut, so
    /// that two values cut to the same text can still be told apart.
    static func expandable(_ value: String, limit: Int) -> String {
        let cut = Wording.oneLine(value, limit: limit)
        guard cut != value else { return "<code>\(esc(value))</code>" }
        return "<details><summary title=\"\(esc(value))\"><code>\(esc(cut))</code></summary><code class=\"full\">\(esc(value))</code></details>"
    }

    func cell(_ label: String, _ content: String, cls: String? = nil) -> String {
        "<td data-label=\"\(Self.esc(label))\"\(cls.map { " class=\"\($0)\"" } ?? "")>\(content)</td>"
    }

    mutating func build() {
        let r = report
        let t = r.traffic
        let verdict = Verdict(r)
        put("<!doctype html>")
        put("<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        put("<title>dd-trace-py v4 readiness report</title><link rel=\"icon\" href=\"\(Self.icon)\">")
        put("<style>\n\(Self.style)\n</style></head><body><main>")
        put("<header><h1>dd-trace-py v4 readiness report</h1>")
        put("<p class=\"lead\">What Python services instrumented with ddtrace 3.x sent to the Datadog Agent, checked against every change of the dd-trace-py v4 migration guide: what breaks, what changes, and what to do.</p>")
        if let a = r.startedAt, let b = r.updatedAt { put("<p class=\"muted\">Traffic seen from \(a.iso8601) to \(b.iso8601). Generated by trace-compat (schema <code>\(Self.esc(r.schema))</code>).</p>") }
        put("<div class=\"stats\">")
        for (n, what) in [(t.requestCount, "requests"), (t.tracePayloadCount, "trace payloads"), (t.spans, "spans"), (r.services.count, "applications"), (r.findings.count, "findings"), (verdict.rules.count, "rules to act on")] {
            put("<div class=\"stat\"><b>\(n)</b><span>\(what)</span></div>")
        }
        put("</div></header>")

        shortAndVerdict(verdict)
        charts(verdict)
        findings(verdict)
        seen()
        let canary = CanarySection.html(r)
        if !canary.isEmpty { put("<section class=\"card\" id=\"canary\">\n" + canary + "</section>") }
        checklist(verdict)
        put("<section class=\"card\"><h2>How to read this report</h2><ul class=\"short\">")
        put("<li><span class=\"sev breaks\">breaks</span> code fails or data is lost under v4; <span class=\"sev changes\">changes</span> v4 behaves differently by default; <span class=\"sev check\">check</span> worth a look, may be fine.</li>")
        put("<li>A <strong>finding</strong> is one group: a rule on one application, operation, resource and key. Its <strong>occurrences</strong> are the spans that showed it, or the requests (headers, telemetry messages, <code>/info</code> answers) for rules that read no spans.</li>")
        put("<li><strong>Confidence</strong> says how sure the traffic makes us; a <em>low</em> finding is a reminder to look, not a verdict.</li>")
        put("<li>Values are never stored in full: at most their type and a \(Sample.excerptLimit)-character excerpt\(r.options.redacted ? " (this report is redacted: no excerpts)" : "").</li>")
        put("</ul></section>")
        put("</main></body></html>")
    }

    mutating func shortAndVerdict(_ verdict: Verdict) {
        let r = report
        let t = r.traffic
        put("<section class=\"card\" id=\"in-short\"><h2>In short</h2><ul class=\"short\">")
        if r.findings.isEmpty {
            put(t.spans == 0 && t.telemetryMessages == 0
                ? "<li>Nothing to judge yet: no Python traces or telemetry were seen.</li>"
                : "<li><strong>Nothing in this traffic blocks the upgrade.</strong> Go through the checklist below: some changes never show on the wire.</li>")
        }
        for s in [Severity.breaks, .changes, .check] {
            let rs = verdict.rules.filter { $0.severity == s }
            guard !rs.isEmpty else { continue }
            let names = rs.map { "<a href=\"#rule-\($0.rule.rawValue)\"><code>\($0.rule.rawValue)</code></a> (\(Self.esc($0.countsText)))" }.joined(separator: ", ")
            put("<li><span class=\"sev \(s.rawValue)\">\(s.rawValue)</span> <strong>\(Self.esc(Wording.severityHeading(s)))</strong>: \(names). \(Self.esc(Wording.severityExplanation(s)))</li>")
        }
        if t.decodeErrors.count > 0 { put("<li>\(t.decodeErrors.count) payload(s) could not be decoded and were not judged (see <a href=\"#decode-errors\">Not decoded</a>).</li>") }
        if t.notAnalysedCount > 0 { put("<li>\(t.notAnalysedCount) payload(s) were forwarded without analysis (see <a href=\"#traffic\">What was seen</a>).</li>") }
        put("</ul>")
        if !verdict.apps.isEmpty {
            put("<h3>Verdict by application</h3><p class=\"muted\">\(Self.esc(verdict.headline)).</p><ul class=\"verdict\" id=\"verdict\">")
            for a in verdict.apps {
                let parts = [Severity.breaks, .changes, .check].compactMap { s -> String? in
                    let rs = a.rules.filter { $0.severity == s }
                    guard !rs.isEmpty else { return nil }
                    return "<span class=\"sev \(s.rawValue)\">\(s.rawValue)</span> " + rs.map {
                        "<a href=\"#rule-\($0.rule.rawValue)\"><code>\($0.rule.rawValue)</code></a> <span class=\"muted\">(\(Self.esc($0.countsText)))</span>"
                    }.joined(separator: ", ")
                }
                put("<li><strong>\(Self.esc(Verdict.appName(a.app)))</strong>: \(parts.joined(separator: "; "))</li>")
            }
            put("</ul>")
        }
        put("</section>")
    }

    mutating func charts(_ verdict: Verdict) {
        guard !verdict.rules.isEmpty else { return }
        put("<section class=\"card\" id=\"charts\"><h2>Occurrences by rule</h2>")
        put(Self.bars(verdict.rules.sorted { $0.rule < $1.rule }.map { ($0.rule.rawValue, $0.occurrences, $0.unit.plural) }, id: "chart-rules"))
        if let django = verdict.rules.first(where: { $0.rule == .djangoMinimal }) {
            put("<h3>Django spans v4 stops producing, by kind</h3>")
            put(Self.bars(Wording.djangoKinds(django.findings, report).map { ($0.kind.rawValue, $0.spans, "spans") }, id: "chart-django", amber: true))
        }
        put("</section>")
    }

    mutating func findings(_ verdict: Verdict) {
        put("<section id=\"findings\"><h2>Findings by rule</h2>")
        if verdict.rules.isEmpty { put("<p>No findings.</p>") }
        for rf in verdict.rules { rule(rf) }
        put("</section>")
    }

    /// One rule: what was seen, the fix once, then one row per finding (no fix on the rows).
    mutating func rule(_ rf: RuleFindings) {
        let id = rf.rule.rawValue
        let apps = NSOrderedSetLike(rf.findings.map { Verdict.appName($0.app ?? ($0.rule == .agent ? nil : $0.service)) })
        put("<article class=\"card rule \(rf.severity.rawValue)\" id=\"rule-\(id)\" data-rule=\"\(id)\"><header>")
        put("<span class=\"sev \(rf.severity.rawValue)\">\(rf.severity.rawValue)</span><h3><code>\(id)</code></h3><span class=\"muted\">\(Self.esc(rf.countsText)) · \(Self.esc(apps.joined(separator: ", ")))</span>")
        put("<p class=\"title\">\(RuleText.html(rf.rule.rule.title))</p></header>")
        var fix = "<div class=\"fix\" data-rule=\"\(id)\"><strong>Fix:</strong> \(RuleText.html(rf.rule.rule.fix))"
        let specific = rf.rule == .djangoMinimal ? [] : rf.specificFixes
        if !specific.isEmpty { fix += "<ul>" + specific.map { "<li>\(RuleText.html($0))</li>" }.joined() + "</ul>" }
        put(fix + "</div>")
        if rf.rule == .djangoMinimal { djangoKinds(rf.findings) }

        // Columns every finding of this rule leaves empty are left out.
        let showService = rf.findings.contains { ($0.app ?? $0.service) != $0.service }
        let showKey = rf.findings.contains { !($0.key ?? "").isEmpty }
        let showDetail = rf.findings.contains { !Wording.detail($0).isEmpty }
        let showExample = rf.findings.contains { !Wording.example($0).isEmpty }
        let unit = rf.unit.plural.prefix(1).uppercased() + rf.unit.plural.dropFirst()
        var head = "<th>Rule</th><th>Application</th>"
        if showService { head += "<th>Service</th>" }
        head += "<th>Where</th>"
        if showKey { head += "<th>Key</th>" }
        if showDetail { head += "<th>Detail</th>" }
        head += "<th>\(unit)</th><th>Confidence</th><th>Seen</th>"
        if showExample { head += "<th>Example</th>" }
        put("<div class=\"scroll\"><table class=\"findings stack\" data-rule=\"\(id)\"><thead><tr>\(head)</tr></thead><tbody>")
        for f in rf.findings {
            var row = "<tr class=\"finding\" data-rule=\"\(id)\">" + cell("Rule", id, cls: "id")
            row += cell("Application", Self.esc(Verdict.appName(f.app ?? (f.rule == .agent ? nil : f.service))))
            if showService { row += cell("Service", Self.esc(f.service)) }
            row += cell("Where", whereCell(f), cls: "w")
            if showKey { row += cell("Key", (f.key ?? "").isEmpty ? "" : Self.expandable(f.key ?? "", limit: 48), cls: "w") }
            if showDetail { row += cell("Detail", Self.esc(Wording.detail(f))) }
            row += cell(unit, String(f.count), cls: "n")
            row += cell("Confidence", f.confidence.rawValue)
            let seen = f.firstSeen == f.lastSeen ? Self.time(f.firstSeen) : Self.time(f.firstSeen) + " –<br>" + Self.time(f.lastSeen)
            row += cell("Seen", seen, cls: "seen")
            if showExample { row += cell("Example", exampleCell(f)) }
            put(row + "</tr>")
        }
        put("</tbody></table></div></article>")
    }

    /// The operation and resource; a long resource (an SQL statement) cut, whole on expand.
    func whereCell(_ f: Finding) -> String {
        if f.operation.isEmpty {
            let w = Wording.whereText(f)
            return f.isOverflow ? "<em>other</em> (\(Self.esc(f.evidence ?? "")))" : Self.esc(w)
        }
        var html = "<code>\(Self.esc(f.operation))</code>"
        if !f.resource.isEmpty && f.resource != f.operation { html += " " + Self.expandable(f.resource, limit: 60) }
        return html
    }

    /// The first sample; all of them (with their trace and span ids) on expand.
    func exampleCell(_ f: Finding) -> String {
        let first = Wording.example(f)
        guard !first.isEmpty else { return "" }
        let shown = f.samples.first?.excerpt != nil ? "<code>\(Self.esc(first))</code>" : Self.esc(first)
        guard f.samples.count > 1 else { return shown }
        let items = f.samples.map { s -> String in
            var parts: [String] = []
            if let e = s.excerpt { parts.append("<code>\(Self.esc(e))</code>") } else if let t = s.valueType { parts.append(Self.esc(t)) }
            if !s.traceID.isEmpty { parts.append("trace \(Self.esc(s.traceID))") }
            if !s.spanID.isEmpty { parts.append("span \(Self.esc(s.spanID))") }
            return "<li>" + parts.joined(separator: " · ") + "</li>"
        }.joined()
        return "<details><summary>\(shown) <span class=\"muted\">+\(f.samples.count - 1)</span></summary><ul class=\"samples\">\(items)</ul></details>"
    }

    mutating func djangoKinds(_ group: [Finding]) {
        put("<table class=\"stack\" id=\"django-kinds\"><thead><tr><th>Kind</th><th>Spans</th><th>Share of the app's spans</th><th>Driver twin seen</th><th>To keep it under v4</th></tr></thead><tbody>")
        for k in Wording.djangoKinds(group, report) {
            put("<tr>" + cell("Kind", k.kind.rawValue, cls: "id") + cell("Spans", String(k.spans), cls: "n") + cell("Share", Wording.percent(k.share), cls: "n")
                + cell("Driver twin seen", Self.esc(k.twinText)) + cell("To keep it", RuleText.html(V4DjangoMinimalRule.fix(for: k.kind))) + "</tr>")
        }
        put("</tbody></table>")
    }

    mutating func seen() {
        let r = report
        let t = r.traffic
        put("<section class=\"card\" id=\"seen\"><h2>What was seen</h2><table id=\"traffic\" class=\"stack\"><tbody>")
        func row(_ label: String, _ value: String) { put("<tr><th>\(Self.esc(label))</th>" + cell(label, value) + "</tr>") }
        row("Requests", "\(t.requestCount): \(Self.esc(Wording.counts(t.requestsByEndpoint)))")
        row("Trace payloads", "\(t.tracePayloadCount): \(Self.esc(Wording.counts(t.tracePayloads)))")
        row("Traces / spans", "\(t.traces) / \(t.spans)")
        row("Telemetry messages", "\(t.telemetryMessages)")
        row("Agent versions (answers)", Self.esc(Wording.counts(t.agentVersions)))
        row("Other languages (requests)", Self.esc(Wording.counts(t.otherLanguages)))
        row("Decode errors", "\(t.decodeErrors.count)")
        row("Not analysed (payloads)", "\(t.notAnalysedCount)" + (t.notAnalysed.isEmpty ? "" : ": " + Self.esc(Wording.counts(t.notAnalysed))))
        for (kind, byEndpoint) in t.proxyErrors.sorted(by: { $0.key < $1.key }) {
            row("Proxy: \(kind)", Self.esc(Wording.counts(byEndpoint)))
        }
        put("</tbody></table>")

        if !r.services.isEmpty {
            put("<h3>Applications</h3><p class=\"muted\">\(RuleText.html(Wording.applicationsNote))</p>")
            put("<div class=\"scroll\"><table id=\"services\" class=\"stack\"><thead><tr><th>Application</th><th>Spans</th><th>ddtrace (requests)</th><th>Python (requests)</th><th>Trace API (requests)</th><th>DD_TRACE_API_VERSION</th><th>Struct tags visible</th></tr></thead><tbody>")
            for (name, s) in r.services.sorted(by: { $0.key < $1.key }) {
                let visible = s.structTagsVisible ? "yes (v0.4 seen)" : "no — " + (s.structTagsNote ?? "")
                put("<tr>" + cell("Application", Self.esc(name.isEmpty ? "(no service)" : name)) + cell("Spans", String(s.spans), cls: "n")
                    + cell("ddtrace", Self.esc(Wording.requests(s.tracerVersions))) + cell("Python", Self.esc(Wording.requests(s.pythonVersions)))
                    + cell("Trace API", Self.esc(Wording.requests(s.apiVersions))) + cell("DD_TRACE_API_VERSION", Self.esc(Wording.configuredAPI(s)))
                    + cell("Struct tags visible", Self.esc(visible)) + "</tr>")
            }
            put("</tbody></table></div>")
        }

        if !r.internalStructTags.isEmpty {
            put("<h3>Struct tags ddtrace writes itself (nothing to do)</h3><table id=\"internal-struct-tags\" class=\"stack\"><thead><tr><th>Application</th><th>Operation</th><th>Key</th><th>Spans</th></tr></thead><tbody>")
            for f in r.internalStructTags {
                put("<tr>" + cell("Application", Self.esc(f.app ?? f.service)) + cell("Operation", Self.esc(f.operation)) + cell("Key", "<code>\(Self.esc(f.key ?? ""))</code>") + cell("Spans", String(f.count), cls: "n") + "</tr>")
            }
            put("</tbody></table>")
        }

        if !t.decodeErrors.samples.isEmpty {
            put("<h3>Not decoded</h3><table id=\"decode-errors\" class=\"stack\"><thead><tr><th>Source</th><th>Endpoint</th><th>Reason</th><th>Byte offset</th></tr></thead><tbody>")
            for e in t.decodeErrors.samples {
                put("<tr>" + cell("Source", Self.esc(e.source)) + cell("Endpoint", Self.esc(e.endpoint)) + cell("Reason", Self.esc(e.reason)) + cell("Byte offset", String(e.offset), cls: "n") + "</tr>")
            }
            put("</tbody></table>")
        }
        put("</section>")
    }

    mutating func checklist(_ verdict: Verdict) {
        put("<section class=\"card\" id=\"checklist-section\"><h2>The whole checklist</h2>")
        put("<p class=\"muted\">Every change of the v4 migration guide. <em>Wire</em> items were checked against the traffic above; <em>code</em> items never show in traffic and need a look at the code.</p>")
        put("<div class=\"scroll\"><table id=\"checklist\" class=\"stack\"><thead><tr><th>Item</th><th>What</th><th>Seen on</th><th>Status</th><th>Findings</th><th>Occurrences</th><th>Notes</th></tr></thead><tbody>")
        for c in report.checklist {
            let cls = c.status == .found ? " class=\"found\"" : ""
            let rf = verdict.rules.first { $0.rule.rawValue == c.id }
            let notes = c.status == .found ? "See <a href=\"#rule-\(Self.esc(c.id))\">the fix above</a>." : RuleText.html(c.advice)
            put("<tr\(cls)>" + cell("Item", "<code>\(Self.esc(c.id))</code>", cls: "id") + cell("What", RuleText.html(c.title)) + cell("Seen on", c.visibility.rawValue)
                + cell("Status", Self.esc(Wording.statusText(c.status))) + cell("Findings", rf.map { String($0.groups) } ?? "", cls: "n")
                + cell("Occurrences", rf.map { $0.unit.text(c.findings) } ?? "", cls: "n") + cell("Notes", notes) + "</tr>")
        }
        put("</tbody></table></div></section>")
    }
}
