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
        for k in Wording.djangoKinds(group, report) {
            line("| \(k.kind.rawValue) | \(k.spans) | \(Wording.percent(k.share)) | \(k.twinText) | \(Self.cell(RuleText.markdown(V4DjangoMinimalRule.fix(for: k.kind)))) |")
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
        let verdict = Verdict(r)
        line("## In short")
        line()
        if r.findings.isEmpty {
            line(t.spans == 0 && t.telemetryMessages == 0
                 ? "- Nothing to judge yet: no Python traces or telemetry were seen."
                 : "- **Nothing in this traffic blocks the upgrade.** Still go through the checklist at the end: some changes never show on the wire.")
        } else {
            for s in [Severity.breaks, .changes, .check] {
                let rs = verdict.rules.filter { $0.severity == s }
                guard !rs.isEmpty else { continue }
                let names = rs.map { "`\($0.rule.rawValue)` (\($0.countsText))" }.joined(separator: ", ")
                line("- **\(Wording.severityHeading(s))**: \(names). \(Wording.severityExplanation(s))")
            }
        }
        if t.decodeErrors.count > 0 {
            line("- \(t.decodeErrors.count) payload(s) could not be decoded and were not judged (see *Not decoded*).")
        }
        if t.notAnalysedCount > 0 {
            line("- \(t.notAnalysedCount) payload(s) were forwarded without analysis (see *What was seen*).")
        }
        line()
        if !verdict.apps.isEmpty {
            line("**Verdict by application** (\(verdict.headline)):")
            line()
            for a in verdict.apps { line("- " + Verdict.line(a)) }
            line()
        }

        if !r.findings.isEmpty {
            line("## What to do")
            line()
            line("One fix per rule, whatever the number of findings; the sections below give the evidence.")
            line()
            line("| Severity | Rule | What was seen | Findings | Occurrences | What to do |")
            line("|---|---|---|---:|---:|---|")
            for rf in verdict.rules {
                let fix = rf.rule.rule.fix
                line("| \(rf.severity.rawValue) | \(rf.rule.rawValue) | \(Self.cell(RuleText.markdown(rf.rule.rule.title))) | \(rf.groups) | \(rf.unit.text(rf.occurrences)) | \(Self.cell(RuleText.markdown(fix))) |")
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
            line("### Applications")
            line()
            line(RuleText.markdown(Wording.applicationsNote))
            line()
            line("| Application | Spans | ddtrace (requests) | Python (requests) | Trace API (requests) | DD_TRACE_API_VERSION | Struct tags visible |")
            line("|---|---:|---|---|---|---|---|")
            for (name, s) in r.services.sorted(by: { $0.key < $1.key }) {
                let visible = s.structTagsVisible ? "yes (v0.4 seen)" : "no — " + (s.structTagsNote ?? "")
                line("| \(Self.cell(name.isEmpty ? "(no service)" : name)) | \(s.spans) | \(Wording.requests(s.tracerVersions)) | \(Wording.requests(s.pythonVersions)) | \(Wording.requests(s.apiVersions)) | \(Wording.configuredAPI(s)) | \(Self.cell(visible)) |")
            }
            line()
        }

        // Findings by severity.
        for s in [Severity.breaks, .changes, .check] {
            guard verdict.rules.contains(where: { $0.severity == s }) else { continue }
            line("## \(Wording.severityHeading(s))")
            line()
            line(Wording.severityExplanation(s))
            line()
            for rf in verdict.rules where rf.severity == s {
                line("### \(rf.rule.rawValue): \(RuleText.markdown(rf.rule.rule.title))")
                line()
                line("\(rf.countsText.prefix(1).uppercased() + rf.countsText.dropFirst()).")
                line()
                // The rule's fix is in "What to do" (once); here only what a finding adds to it.
                let specific = rf.rule == .djangoMinimal ? [] : rf.specificFixes
                if !specific.isEmpty {
                    line("**Per finding:**")
                    line()
                    for fix in specific { line("- \(RuleText.markdown(fix))") }
                    line()
                }
                if rf.rule == .djangoMinimal { djangoSummary(rf.findings) }
                let unit = rf.unit.plural.prefix(1).uppercased() + rf.unit.plural.dropFirst()
                line("| Application | Service | Where | Key | Detail | \(unit) | Confidence | First seen | Last seen | Example |")
                line("|---|---|---|---|---|---:|---|---|---|---|")
                let limit = 25
                for g in rf.findings.prefix(limit) {
                    line("| \(Self.cell(Verdict.appName(g.app ?? (g.rule == .agent ? nil : g.service)))) | \(Self.cell(g.service)) | \(Self.cell(Wording.whereText(g))) | \(Self.cell(g.key ?? "")) | \(Self.cell(Wording.detail(g))) | \(g.count) | \(g.confidence.rawValue) | \(g.firstSeen.iso8601) | \(g.lastSeen.iso8601) | \(Self.cell(Wording.example(g))) |")
                }
                if rf.groups > limit {
                    line()
                    line("…and \(rf.groups - limit) more finding(s) of \(rf.rule.rawValue), listed in the JSON and HTML reports.")
                }
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
        line("| Item | What | Seen on | Status | Findings | Occurrences | Notes |")
        line("|---|---|---|---|---:|---:|---|")
        for c in r.checklist {
            let rf = verdict.rules.first { $0.rule.rawValue == c.id }
            let notes = c.status == .found ? "See the fix above." : RuleText.markdown(c.advice)
            line("| \(c.id) | \(Self.cell(RuleText.markdown(c.title))) | \(c.visibility.rawValue) | \(Wording.statusText(c.status)) | \(rf.map { String($0.groups) } ?? "") | \(rf.map { $0.unit.text(c.findings) } ?? "") | \(Self.cell(notes)) |")
        }
        line()
        line("## How to read this report")
        line()
        line("- **Severity**: *breaks* — code fails or data is lost under v4; *changes* — v4 behaves differently by default; *check* — worth a look, may be fine.")
        line("- **Confidence**: how sure the traffic makes us (*high*, *medium*, *low*). A *low* finding is a reminder to look, not a verdict.")
        line("- A **finding** is one group: a rule on one application, service, operation, resource and key. Its **occurrences** are the spans that showed it, or the requests (headers, telemetry messages, `/info` answers) for rules that read no spans; first/last seen are when.")
        line("- Values are never stored in full: at most the value's type and a \(Sample.excerptLimit)-character excerpt\(r.options.redacted ? " (this report is redacted: no excerpts)" : "").")
        line("- The JSON version of this report follows the schema `\(r.schema)`.")
    }
}
