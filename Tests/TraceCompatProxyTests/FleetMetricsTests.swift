import CompatReport
import CompatRules
import Foundation
import Testing
import TraceCompatProxy

/// The fleet families of `/metrics` (`trace_compat_findings_total`, `finding_groups`, `app_info`,
/// `app_spans_total`, `v4_ready`): exact lines for a report of known findings, counters that never
/// go down between scrapes, and label values bounded whatever the report holds.
@Suite struct FleetMetricsTests {
    static let families = ["trace_compat_findings_total", "trace_compat_finding_groups", "trace_compat_app_info",
                           "trace_compat_app_spans_total", "trace_compat_v4_ready"]

    /// The exposition's sample lines of the fleet families, as a set (the library orders series
    /// by its own hashing).
    static func fleetLines(_ metrics: ProxyMetrics, _ report: Report) -> Set<String> {
        let text = String(decoding: metrics.exposition(report: report, queueDepth: 0), as: UTF8.self)
        return Set(text.split(separator: "\n").map(String.init).filter { line in
            families.contains { line.hasPrefix($0 + "{") || line.hasPrefix($0 + " ") }
        })
    }

    static func finding(_ rule: RuleID, app: String, key: String, count: Int, service: String? = nil) -> Finding {
        Finding(rule: rule, service: service ?? app, operation: "op", key: key, count: count, firstSeen: ReportTime(milliseconds: 1000), app: app)
    }

    static func service(spans: Int, tracer: [String: Int], python: [String: Int], api: [String: Int]) -> ServiceSummary {
        var s = ServiceSummary()
        s.spans = spans
        s.tracerVersions = tracer
        s.pythonVersions = python
        s.apiVersions = api
        return s
    }

    static func twoApps() -> Report {
        var r = Report()
        r.services = [
            "checkout": service(spans: 120, tracer: ["3.19.9": 4], python: ["3.12.7": 4], api: ["v0.4": 4]),
            "ticker": service(spans: 30, tracer: ["3.19.9": 1, "3.18.0": 3], python: ["3.11.2": 3], api: ["v0.5": 3]),
        ]
        r.findings = [
            finding(.structTag, app: "checkout", key: "user.roles", count: 1),
            finding(.structTag, app: "checkout", key: "cart.items", count: 1),
            finding(.tagRepr, app: "checkout", key: "flag", count: 5, service: "checkout-db"),
            finding(.tagNumeric, app: "ticker", key: "price", count: 7),
        ]
        return r.finalized()
    }

    @Test func exactLinesForKnownFindings() {
        let lines = Self.fleetLines(ProxyMetrics(), Self.twoApps())
        #expect(lines == [
            #"trace_compat_findings_total{rule="V4-STRUCT-TAG",severity="breaks",app="checkout"} 2"#,
            #"trace_compat_findings_total{rule="V4-TAG-REPR",severity="check",app="checkout"} 5"#,
            #"trace_compat_findings_total{rule="V4-TAG-NUMERIC",severity="check",app="ticker"} 7"#,
            #"trace_compat_finding_groups{rule="V4-STRUCT-TAG",severity="breaks",app="checkout"} 2.0"#,
            #"trace_compat_finding_groups{rule="V4-TAG-REPR",severity="check",app="checkout"} 1.0"#,
            #"trace_compat_finding_groups{rule="V4-TAG-NUMERIC",severity="check",app="ticker"} 1.0"#,
            #"trace_compat_app_info{app="checkout",tracer_version="3.19.9",python_version="3.12.7",api_version="v0.4"} 1.0"#,
            #"trace_compat_app_info{app="ticker",tracer_version="3.18.0",python_version="3.11.2",api_version="v0.5"} 1.0"#,
            #"trace_compat_app_spans_total{app="checkout"} 120"#,
            #"trace_compat_app_spans_total{app="ticker"} 30"#,
            #"trace_compat_v4_ready{app="checkout"} 0.0"#,
            #"trace_compat_v4_ready{app="ticker"} 1.0"#,
        ])
    }

    @Test func countersGrowAndNeverGoDownAndGoneGaugesAreRemoved() {
        let metrics = ProxyMetrics()
        _ = Self.fleetLines(metrics, Self.twoApps())
        // Later: ticker got a `changes` finding, checkout more spans and a new tracer version
        // seen most; checkout's V4-TAG-REPR total is lower (as if its count had moved elsewhere).
        var r = Self.twoApps()
        r.findings[r.findings.firstIndex { $0.rule == .tagRepr }!].count = 3
        r.findings.append(Self.finding(.config, app: "ticker", key: "DD_TRACE_API_VERSION", count: 1))
        r.services["checkout"]!.spans = 200
        r.services["checkout"]!.tracerVersions["3.19.10"] = 9
        let lines = Self.fleetLines(metrics, r.finalized())
        #expect(lines.contains(#"trace_compat_findings_total{rule="V4-TAG-REPR",severity="check",app="checkout"} 5"#))
        #expect(lines.contains(#"trace_compat_findings_total{rule="V4-CONFIG",severity="changes",app="ticker"} 1"#))
        #expect(lines.contains(#"trace_compat_app_spans_total{app="checkout"} 200"#))
        #expect(lines.contains(#"trace_compat_v4_ready{app="ticker"} 0.0"#))
        let info = lines.filter { $0.hasPrefix("trace_compat_app_info{app=\"checkout\"") }
        #expect(info == [#"trace_compat_app_info{app="checkout",tracer_version="3.19.10",python_version="3.12.7",api_version="v0.4"} 1.0"#])
    }

    @Test func appsBeyondTheStoresCapAreOther() {
        // The engine's cap (ReportLimits.apps) folds apps into "other" before metrics see them.
        let store = ReportStore(sampleLimit: 1, redact: false, limits: ReportLimits(apps: 3))
        var batch = Report()
        for i in 0..<10 {
            let name = "app-\(i)"
            batch.services[name] = Self.service(spans: 1, tracer: ["3.19.9": 1], python: ["3.12.7": 1], api: ["v0.4": 1])
            batch.findings.append(Self.finding(.tagRepr, app: name, key: "k\(i)", count: 2))
        }
        store.record(batch)
        let lines = Self.fleetLines(ProxyMetrics(), store.snapshot())
        let apps = Set(lines.compactMap { $0.firstMatch(of: /app="([^"]*)"/).map { String($0.1) } })
        #expect(apps.count == 4)
        #expect(apps.contains("other"))
        #expect(lines.contains(#"trace_compat_app_spans_total{app="other"} 7"#))
        #expect(lines.contains(#"trace_compat_findings_total{rule="V4-TAG-REPR",severity="check",app="other"} 14"#))
        #expect(lines.filter { $0.hasPrefix("trace_compat_v4_ready{") }.count == 4)
    }

    @Test func labelValuesAreBoundedWhateverTheReportHolds() {
        // A report continued from a file could hold more apps than the metrics' own bound, and
        // every name and version is what a tracer sent.
        var r = Report()
        let long = String(repeating: "s", count: 500)
        for i in 0..<(MetricsLimits.apps + 44) {
            r.services[String(format: "app-%04d", i)] = Self.service(spans: 1, tracer: [:], python: [:], api: [:])
        }
        r.services[long] = Self.service(spans: 1, tracer: ["3.19.9\"} 1\nevil{x=\"" + String(repeating: "9", count: 100): 1],
                                        python: ["3.12.7": 1], api: ["v0.4": 1])
        let lines = Self.fleetLines(ProxyMetrics(), r.finalized())
        let spans = lines.filter { $0.hasPrefix("trace_compat_app_spans_total{") }
        #expect(spans.count == MetricsLimits.apps + 1)
        let otherSpans = spans.first { $0.contains(#"app="other""#) }.flatMap { Int($0.split(separator: " ").last!) }
        #expect(otherSpans == 45)
        for line in lines {
            for match in line.matches(of: /="([^"]*)"/) { #expect(match.1.count <= MetricsLimits.appLength) }
        }
        let info = lines.filter { $0.hasPrefix("trace_compat_app_info{") && $0.contains("3.12.7") }
        // The long name may fall beyond the bound (then it is "other"); its version is bounded either way.
        #expect(info.count == 1)
        let version = info.first?.firstMatch(of: /tracer_version="([^"]*)"/).map { String($0.1) }
        #expect(version == "3.19.9___1_evil_x__" + String(repeating: "9", count: 13))
        #expect(version?.count == MetricsLimits.versionLength)
    }
}
