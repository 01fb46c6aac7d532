import CompatRules

/// The Markdown report: written for someone who has never heard of trace-compat. It says what
/// was looked at, what breaks, and what to do, in that order, then the evidence and the checklist.
struct MarkdownReport {
    let report: Report
    var out = ""

    init(report: Report) { self.report = report }

    static func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    mutating func line(_ s: String = "") { out += s + "\n" }

    func render() -> String {
        var m = self
        m.build()
        return m.out
    }

    /// Per kind: spans, share of the application's spans, and whether the data survives in v4.
    mutating func djangoSummary(_ group: [Finding]) {
        line("| Kind | Spans | Share of the app's spans | Driver twin seen (query still traced) | To keep it under v4 |")
        line("|---|---:|---:|---|---|")
        for kind in V4DjangoMinimalRule.Kind.allCases {
            let fs = group.filter { $0.kind == kind.rawValue }
            guard !fs.isEmpty else { continue }
            let n = fs.reduce(0) { $0 + $1.count }
            let app = fs.first?.app ?? fs.first?.service ?? ""
            let appSpans = report.services[app]?.spans ?? 0
            let share = appSpans > 0 ? Double(n) / Double(appSpans) : 0
            let twins = fs.compactMap(\.twinSeen).reduce(0, +)
            let twinText = kind == .database ? "\(twins) of \(n)" + (twins == n ? " (timings kept by the driver spans)" : " (the rest is lost)") : "no twin: lost"
            line("| \(kind.rawValue) | \(n) | \(Wording.percent(share)) | \(twinText) | `\(kind.setting)` |")
        }
        line()
    }

    mutating func build() {
        let r = report
        let t = r.traffic
        line("# dd-trace-py v4 readiness report")
        line()
        line("This report comes from **trace-compat**, which watched the traffic that Python services instrumented with "
             + "Datadog's tracer (ddtrace 3.x) send to the Datadog Agent, and checked it against every change of the "
             + "dd-trace-py v4 migration guide. It lists what would break or change if these services moved to v4, "
             + "with the fix for each, and ends with the full checklist, including what only your code can answer.")
        line()
        if let a = r.startedAt, let b = r.updatedAt {
            line("Traffic recorded from \(a.iso8601) to \(b.iso8601).")
            line()
        }
        if let p = r.provenanceSummary { line(p); line() }

        // Verdict.
        line("## In short")
        line()
        let bySeverity = Dictionary(grouping: r.findings, by: \.severity)
        if r.findings.isEmpty {
            line(t.spans == 0 && t.telemetryMessages == 0
                 ? "- Nothing to judge yet: no Python traces or telemetry were seen."
                 : "- **Nothing in this traffic blocks the upgrade.** Still go through the checklist at the end: some changes never show on the wire.")
        } else {
            for s in [Severity.breaks, .changes, .check] {
                let fs = bySeverity[s] ?? []
                guard !fs.isEmpty else { continue }
                let rules = Set(fs.map(\.rule)).sorted().map(\.rawValue).joined(separator: ", ")
                let occurrences = fs.reduce(0) { $0 + $1.count }
                line("- **\(Wording.severityHeading(s))**: \(rules), \(occurrences) occurrence(s) in \(fs.count) finding(s). \(Wording.severityExplanation(s))")
            }
        }
        if t.decodeErrors.count > 0 {
            line("- \(t.decodeErrors.count) payload(s) could not be decoded and were not judged (see *Not decoded*).")
        }
        if t.notAnalysedCount > 0 {
            line("- \(t.notAnalysedCount) payload(s) were forwarded without analysis because the analysis queue was full.")
        }
        line()

        if !r.findings.isEmpty {
            line("## What to do")
            line()
            line("| Severity | Rule | What was seen | Occurrences | What to do |")
            line("|---|---|---|---:|---|")
            var seen = Set<RuleID>()
            for f in r.findings where !seen.contains(f.rule) {
                seen.insert(f.rule)
                let all = r.findings.filter { $0.rule == f.rule }
                let total = all.reduce(0) { $0 + $1.count }
                let fix = all.count == 1 || Set(all.map(\.fix)).count == 1 ? f.fix : f.rule.rule.fix
                line("| \(f.severity.rawValue) | \(f.rule.rawValue) | \(Self.cell(f.rule.rule.title)) | \(total) | \(Self.cell(fix)) |")
            }
            line()
        }

        // Traffic.
        line("## What was seen")
        line()
        line("- \(t.requestCount) request(s) to the agent: \(Wording.counts(t.requestsByEndpoint)).")
        line("- \(t.tracePayloadCount) trace payload(s) (\(Wording.counts(t.tracePayloads))) holding \(t.traces) trace(s) and \(t.spans) span(s) from Python services.")
        line("- \(t.telemetryMessages) telemetry message(s).")
        if !t.agentVersions.isEmpty { line("- Datadog Agent version(s) from `/info`: \(Wording.counts(t.agentVersions)).") }
        if !t.otherLanguages.isEmpty { line("- Requests from other languages (counted, not judged): \(Wording.counts(t.otherLanguages)).") }
        if !t.proxyErrors.isEmpty {
            for (kind, byEndpoint) in t.proxyErrors.sorted(by: { $0.key < $1.key }) {
                line("- Proxy: \(kind): \(Wording.counts(byEndpoint)).")
            }
        }
        line()
        if !r.services.isEmpty {
            line("### Services")
            line()
            line("| Service | Spans | ddtrace | Python | Trace API | Struct tags visible |")
            line("|---|---:|---|---|---|---|")
            for (name, s) in r.services.sorted(by: { $0.key < $1.key }) {
                let visible = s.structTagsVisible ? "yes (v0.4 seen)" : "no — " + (s.structTagsNote ?? "")
                line("| \(Self.cell(name.isEmpty ? "(no service)" : name)) | \(s.spans) | \(Wording.counts(s.tracerVersions)) | \(Wording.counts(s.pythonVersions)) | \(Wording.counts(s.apiVersions)) | \(Self.cell(visible)) |")
            }
            line()
        }

        // Findings by severity.
        for s in [Severity.breaks, .changes, .check] {
            let fs = bySeverity[s] ?? []
            guard !fs.isEmpty else { continue }
            line("## \(Wording.severityHeading(s))")
            line()
            line(Wording.severityExplanation(s))
            line()
            var rulesDone = Set<RuleID>()
            for f in fs where !rulesDone.contains(f.rule) {
                rulesDone.insert(f.rule)
                let group = fs.filter { $0.rule == f.rule }
                line("### \(f.rule.rawValue): \(f.rule.rule.title)")
                line()
                line("**Fix:** \(f.rule.rule.fix)")
                line()
                if f.rule == .djangoMinimal { djangoSummary(group) }
                line("| Service | Where | Key | Detail | Count | Confidence | First seen | Last seen | Example |")
                line("|---|---|---|---|---:|---|---|---|---|")
                let limit = 25
                for g in group.prefix(limit) {
                    line("| \(Self.cell(g.service)) | \(Self.cell(Wording.whereText(g))) | \(Self.cell(g.key ?? "")) | \(Self.cell(Wording.detail(g))) | \(g.count) | \(g.confidence.rawValue) | \(g.firstSeen.iso8601) | \(g.lastSeen.iso8601) | \(Self.cell(Wording.example(g))) |")
                }
                if group.count > limit {
                    line()
                    line("…and \(group.count - limit) more finding(s) of \(f.rule.rawValue), listed in the JSON and HTML reports.")
                }
                let specific = f.rule == .djangoMinimal ? [] : Set(group.map(\.fix)).subtracting([f.rule.rule.fix])
                for fix in specific.sorted() { line("- \(fix)") }
                line()
            }
        }

        if !r.internalStructTags.isEmpty {
            line("## Struct tags that ddtrace writes itself")
            line()
            line("These `meta_struct` keys come from ddtrace's own products (AppSec, IAST, exploit prevention), not from your code: nothing to do.")
            line()
            line("| Service | Operation | Key | Count |")
            line("|---|---|---|---:|")
            for f in r.internalStructTags {
                line("| \(Self.cell(f.service)) | \(Self.cell(f.operation)) | \(Self.cell(f.key ?? "")) | \(f.count) |")
            }
            line()
        }

        if t.decodeErrors.count > 0 {
            line("## Not decoded")
            line()
            line("\(t.decodeErrors.count) payload(s) could not be decoded (\(Wording.counts(t.decodeErrors.byEndpoint))). They were not judged; a proxy forwards them unchanged.")
            line()
            line("| Source | Endpoint | Reason | Byte offset |")
            line("|---|---|---|---:|")
            for e in t.decodeErrors.samples {
                line("| \(Self.cell(e.source)) | \(Self.cell(e.endpoint)) | \(Self.cell(e.reason)) | \(e.offset) |")
            }
            line()
        }

        out += CanarySection.markdown(r)
        line("## The whole checklist")
        line()
        line("Every change of the v4 migration guide. *Wire* items were checked against the traffic above; *code* items never show in traffic and need a look at the code.")
        line()
        line("| Item | What | Seen on | Status | Findings | Notes |")
        line("|---|---|---|---|---:|---|")
        for c in r.checklist {
            line("| \(c.id) | \(Self.cell(c.title)) | \(c.visibility.rawValue) | \(Wording.statusText(c.status)) | \(c.findings) | \(Self.cell(c.advice)) |")
        }
        line()
        line("## How to read this report")
        line()
        line("- **Severity**: *breaks* — code fails or data is lost under v4; *changes* — v4 behaves differently by default; *check* — worth a look, may be fine.")
        line("- **Confidence**: how sure the traffic makes us (*high*, *medium*, *low*). A *low* finding is a reminder to look, not a verdict.")
        line("- **Count** is the number of spans, requests or telemetry messages that showed the finding; first/last seen are when.")
        line("- Values are never stored in full: at most the value's type and a \(Sample.excerptLimit)-character excerpt\(r.options.redacted ? " (this report is redacted: no excerpts)" : "").")
        line("- The JSON version of this report follows the schema `\(r.schema)`.")
    }
}
