import CompatRules

extension ReportRenderer {
    /// The short plain-text summary the CLI prints: traffic in one line, one row per rule that
    /// fired (findings = groups, occurrences = spans or requests), the verdict by application and rule. Fits a terminal and a CI log.
    public static func summary(_ report: Report) -> String {
        let t = report.traffic
        var out = "Traffic: \(t.requestCount) request(s), \(t.tracePayloadCount) trace payload(s)"
        if !t.tracePayloads.isEmpty { out += " (" + Wording.counts(t.tracePayloads) + ")" }
        out += ", \(t.traces) trace(s), \(t.spans) span(s), \(t.telemetryMessages) telemetry message(s), \(t.decodeErrors.count) decode error(s)"
        if t.notAnalysedCount > 0 { out += ", \(t.notAnalysedCount) not analysed" }
        out += "\n"
        if !report.services.isEmpty {
            out += "Services: " + report.services.sorted { $0.key < $1.key }.map { name, s in
                "\(name.isEmpty ? "(none)" : name) [\(s.structTagsVisible ? "struct tags visible" : "struct tags NOT visible: v0.5 only")]"
            }.joined(separator: ", ") + "\n"
        }
        out += "\n"
        guard !report.findings.isEmpty else {
            return out + "No findings. Check the 'check in code' items of the checklist in the report.\n"
        }
        let verdict = Verdict(report)
        var rows: [[String]] = [["SEVERITY", "RULE", "FINDINGS", "OCCURRENCES", "DETAIL"]]
        for r in verdict.rules {
            rows.append([r.severity.rawValue, r.rule.rawValue, String(r.groups), r.unit.text(r.occurrences), detail(r.rule, r.findings)])
        }
        var widths = [Int](repeating: 0, count: 5)
        for r in rows { for (i, c) in r.enumerated() where i < 4 { widths[i] = max(widths[i], c.count) } }
        for r in rows {
            var line = ""
            for (i, c) in r.enumerated() {
                if i < 4 {
                    let pad = String(repeating: " ", count: widths[i] - c.count)
                    line += (i == 2 || i == 3 ? pad + c : c + pad) + "  "
                } else {
                    line += c
                }
            }
            out += line + "\n"
        }
        out += "\nVerdict: " + verdict.headline + ".\n"
        for a in verdict.apps { out += "  " + Verdict.line(a) + "\n" }
        out += "A finding is one group of occurrences (rule, app, operation, resource, key); the report gives each rule's fix once.\n"
        return out
    }

    static func detail(_ rule: RuleID, _ group: [Finding]) -> String {
        func list(_ items: [String], limit: Int = 4) -> String {
            let unique = Array(NSOrderedSetLike(items))
            return unique.prefix(limit).joined(separator: ", ") + (unique.count > limit ? ", …" : "")
        }
        switch rule.rule.summaryDetail {
        case .kinds(let kinds):
            var byKind: [String: Int] = [:]
            for f in group { byKind[f.kind ?? "", default: 0] += f.count }
            return kinds.map { "\($0) \(byKind[$0] ?? 0)" }.joined(separator: ", ")
        case .keys:
            return "keys: " + list(group.compactMap(\.key))
        case .names:
            return list(group.compactMap(\.key))
        case .versions:
            return "versions: " + list(group.compactMap(\.kind))
        case .services:
            return "services: " + list(group.map(\.service))
        }
    }
}

/// Unique items in first-seen order.
func NSOrderedSetLike(_ items: [String]) -> [String] {
    var seen = Set<String>()
    return items.filter { seen.insert($0).inserted }
}
