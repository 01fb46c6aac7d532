import CompatRules

/// The verdict by application and rule: "shop: breaks V4-STRUCT-TAG (1 finding, 2 spans); changes
/// V4-DJANGO-MINIMAL (one fix for 11 findings, 69 spans)", never one change per SQL statement.
struct Verdict {
    struct AppLine {
        /// The application, or nil for findings of no application (the agent's version).
        let app: String?
        let rules: [RuleFindings]
    }

    let rules: [RuleFindings]
    let apps: [AppLine]

    init(_ report: Report) {
        rules = RuleFindings.of(report.findings)
        var order: [String?] = []
        var byApp: [String?: [Finding]] = [:]
        for f in report.findings {
            let app = f.app ?? (f.rule == .agent ? nil : f.service)
            if byApp[app] == nil { order.append(app) }
            byApp[app, default: []].append(f)
        }
        // Applications by name, the agent's line last.
        order.sort { ($0 == nil ? 1 : 0, $0 ?? "") < ($1 == nil ? 1 : 0, $1 ?? "") }
        apps = order.map { AppLine(app: $0, rules: RuleFindings.of(byApp[$0] ?? [])) }
    }

    /// Rules per severity: "breaks: 1 rule, changes: 1 rule, check: 2 rules, in 1 application".
    var headline: String {
        guard !rules.isEmpty else { return "nothing found that v4 breaks or changes" }
        let parts = [Severity.breaks, .changes, .check].compactMap { s -> String? in
            let n = rules.filter { $0.severity == s }.count
            return n == 0 ? nil : "\(s.rawValue): \(n == 1 ? "1 rule" : "\(n) rules")"
        }
        let appCount = apps.filter { $0.app != nil }.count
        return parts.joined(separator: ", ") + ", in " + (appCount == 1 ? "1 application" : "\(appCount) applications")
    }

    static func appName(_ app: String?) -> String {
        guard let app else { return "Datadog Agent" }
        return app.isEmpty ? "(no service)" : app
    }

    /// One application's line, plain text.
    static func line(_ a: AppLine) -> String {
        appName(a.app) + ": " + [Severity.breaks, .changes, .check].compactMap { s -> String? in
            let rs = a.rules.filter { $0.severity == s }
            guard !rs.isEmpty else { return nil }
            return s.rawValue + " " + rs.map { "\($0.rule.rawValue) (\($0.countsText))" }.joined(separator: ", ")
        }.joined(separator: "; ")
    }
}
