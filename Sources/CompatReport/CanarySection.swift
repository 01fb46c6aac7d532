import CompatRules

/// The "Canary" section of the Markdown and HTML reports (V4-CANARY-DIFF): per application seen
/// on ddtrace 3.x and 4.x, a small side-by-side table of what differs, with the rule that
/// predicted it. Empty when no application was seen on both (the renderers call it with one line).
enum CanarySection {
    /// The apps with a comparison, in name order.
    static func apps(_ r: Report) -> [(String, CanaryApp, [CanaryDiffRow])] {
        (r.canary ?? [:]).keys.sorted().compactMap { name in
            guard let app = r.canary?[name], let rows = app.diff else { return nil }
            return (name, app, rows)
        }
    }

    static let intro = "The same application seen on ddtrace 3.x and 4.x (a canary): what it sends differently, measured. Operation rows compare spans per trace; key rows compare the share of the operation's spans carrying the key. *Predicted by* names the rule that foresaw it from 3.x traffic alone."

    static func what(_ row: CanaryDiffRow) -> String {
        let op = row.operation + (row.component.isEmpty ? "" : " (\(row.component))")
        return row.key.map { "\(op): \($0)" } ?? op
    }

    static func side(_ s: CanaryDiffRow.Side, operation: Bool) -> String {
        operation ? "\(CanaryDiff.text(s.rate))/trace (\(s.spans) in \(s.of))" : "\(CanaryDiff.percent(s.rate)) (\(s.spans) of \(s.of))"
    }

    static func predicted(_ row: CanaryDiffRow) -> String {
        guard let rule = row.predictedBy else { return "" }
        return rule.rawValue + " " + (row.predictedKind ?? "") + (row.predictedCount.map { ": \($0) span(s)" } ?? "")
    }

    static func heading(_ name: String, _ app: CanaryApp) -> String {
        let b = app.versions[V4CanaryDiffRule.before]?.traces ?? 0, a = app.versions[V4CanaryDiffRule.after]?.traces ?? 0
        return "\(name): \(b) trace(s) on 3.x, \(a) on 4.x, confidence \(V4CanaryDiffRule.confidence(beforeTraces: b, afterTraces: a).rawValue)"
    }

    static func markdown(_ r: Report) -> String {
        let apps = apps(r)
        guard !apps.isEmpty else { return "" }
        var out = "## Canary: 3.x and 4.x side by side\n\n\(intro)\n\n"
        for (name, app, rows) in apps {
            out += "### \(MarkdownReport.cell(heading(name, app)))\n\n"
            if rows.isEmpty { out += "No difference.\n\n"; continue }
            out += "| Change | Operation / key | Service | 3.x | 4.x | Predicted by |\n|---|---|---|---|---|---|\n"
            for row in rows {
                let op = row.key == nil
                out += "| \(row.change.rawValue) | \(MarkdownReport.cell(what(row))) | \(MarkdownReport.cell(row.service)) | "
                    + "\(side(row.before, operation: op)) | \(side(row.after, operation: op)) | \(MarkdownReport.cell(predicted(row))) |\n"
            }
            out += "\n"
        }
        return out
    }

    static func html(_ r: Report) -> String {
        let apps = apps(r)
        guard !apps.isEmpty else { return "" }
        var out = "<h2>Canary: 3.x and 4.x side by side</h2>\n<p>\(HTMLReport.esc(intro.replacingOccurrences(of: "*", with: "")))</p>\n"
        for (name, app, rows) in apps {
            out += "<h3>\(HTMLReport.esc(heading(name, app)))</h3>\n"
            if rows.isEmpty { out += "<p>No difference.</p>\n"; continue }
            out += "<div class=\"scroll\"><table class=\"canary\" data-app=\"\(HTMLReport.esc(name))\"><thead><tr><th>Change</th><th>Operation / key</th><th>Service</th><th>3.x</th><th>4.x</th><th>Predicted by</th></tr></thead><tbody>\n"
            for row in rows {
                let op = row.key == nil
                out += "<tr data-change=\"\(row.change.rawValue)\"><td>\(row.change.rawValue)</td><td>\(HTMLReport.esc(what(row)))</td><td>\(HTMLReport.esc(row.service))</td>"
                    + "<td class=\"n\">\(HTMLReport.esc(side(row.before, operation: op)))</td><td class=\"n\">\(HTMLReport.esc(side(row.after, operation: op)))</td>"
                    + "<td>\(HTMLReport.esc(predicted(row)))</td></tr>\n"
            }
            out += "</tbody></table></div>\n"
        }
        return out
    }
}
