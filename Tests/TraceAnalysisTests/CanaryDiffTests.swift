import CompatReport
import CompatRules
import Foundation
import MessagePack
import Testing
@testable import TraceAnalysis

/// V4-CANARY-DIFF on real captures: ddtrace 3.19.9's Django app in full mode (django-full-v04) as
/// the fleet, the same app with DD_DJANGO_TRACING_MINIMAL=true (django-minimal-v04, what v4 does
/// by default) sent with a 4.x tracer version as the canary. Ground truth: the fixtures'
/// expected.json (196 traces each; 174 database, 6 cache and 3 template spans dropped).
enum Canary {
    /// The fixture's trace payload, its app renamed to `app`, sent as tracer `version`.
    static func payload(_ scenario: String, app: String, version: String) throws -> CapturedRequest {
        let dir = "\(Fixtures.root)/\(scenario)"
        var request = try CaptureSet.load(headers: "\(dir)/003-POST-v0.4_traces.headers.json", body: "\(dir)/003-POST-v0.4_traces.msgpack")
        let value = try request.body.withUnsafeBytes { try MessagePackReader.decode($0) }
        request.body = MessagePackWriter.encode(TwoApps.rename(value, app: app))
        request.headers = request.headers.map { CapturedRequest.asciiCaseInsensitiveEquals($0.name, "Datadog-Meta-Tracer-Version") ? ($0.name, version) : $0 }
        return request
    }

    static func report(_ requests: [CapturedRequest]) -> Report {
        let store = ReportStore()
        let analyzer = Analyzer(store: store)
        for r in requests { analyzer.analyze(r) }
        return store.snapshot()
    }

    static func drops() throws -> [String: Int] {
        try Fixtures.expected("django-full-v04")["django_minimal_drops"] as! [String: Int]
    }
}

@Suite struct CanaryDiffTests {
    @Test func canaryOfDjangoMinimalReportsExactlyTheDroppedOperations() throws {
        let full = try Fixtures.expected("django-full-v04"), drops = try Canary.drops()
        let traces = full["traces"] as! Int
        let report = Canary.report([try Canary.payload("django-full-v04", app: "shop", version: "3.19.9"),
                                    try Canary.payload("django-minimal-v04", app: "shop", version: "4.16.0")])
        let app = try #require(report.canary?["shop"])
        #expect(app.versions["3"]?.traces == traces)
        #expect(app.versions["4"]?.traces == traces)
        #expect(app.versions["3"]?.spans == full["spans"] as? Int)
        let rows = try #require(app.diff)
        // Exactly the three Django operations, gone, each with its v3 count and rate, predicted.
        #expect(rows.map(\.change) == [.gone, .gone, .gone], "\(rows)")
        let byKind = Dictionary(uniqueKeysWithValues: rows.map { ($0.predictedKind ?? "?", $0) })
        #expect(Set(byKind.keys) == ["database", "cache", "template"])
        for (kind, n) in drops {
            let row = try #require(byKind[kind])
            #expect(row.before.spans == n && row.before.of == traces, "\(kind)")
            #expect(row.before.rate == (Double(n) / Double(traces) * 10_000).rounded() / 10_000)
            #expect(row.after.spans == 0 && row.after.of == traces)
            #expect(row.predictedBy == .djangoMinimal && row.predictedCount == n, "\(kind)")
            #expect(row.confidence == .high)
        }
        #expect(byKind["database"]?.operation == "sqlite.query" && byKind["database"]?.component == "django-database")
        #expect(!rows.contains { $0.component == "sqlite" }, "the driver's spans are kept by v4")
        // One finding per row, counted in the v3 spans.
        let findings = report.findings.filter { $0.rule == .canaryDiff }
        #expect(findings.map(\.count).sorted() == drops.values.sorted())
        #expect(findings.allSatisfy { $0.app == "shop" && $0.severity == .changes && $0.kind == "gone" })
        #expect(report.findingCountsByRule["V4-CANARY-DIFF"] == drops.values.reduce(0, +))
    }

    @Test func appSeenOnOneVersionOnlyHasNoCanaryFinding() throws {
        let report = Canary.report([try Canary.payload("django-full-v04", app: "shop", version: "3.19.9")])
        #expect(report.canary?["shop"]?.versions.keys.sorted() == ["3"])
        #expect(report.canary?["shop"]?.diff == nil)
        #expect(!report.findings.contains { $0.rule == .canaryDiff })
        let item = report.checklist.first { $0.id == "V4-CANARY-DIFF" }
        #expect(item?.status == .notSeen)
        #expect(item?.advice.hasPrefix("No application seen on both ddtrace 3.x and 4.x yet (tracer major versions seen: shop: 3).") == true)
    }

    @Test func twoAppsOneInCanaryOnlyThatOneIsReported() throws {
        let report = Canary.report([try Canary.payload("django-full-v04", app: "shop-a", version: "3.19.9"),
                                    try Canary.payload("django-full-v04", app: "shop-b", version: "3.19.9"),
                                    try Canary.payload("django-minimal-v04", app: "shop-b", version: "4.0.0")])
        #expect(report.canary?["shop-a"]?.diff == nil)
        #expect(report.canary?["shop-b"]?.diff?.count == 3)
        #expect(Set(report.findings.filter { $0.rule == .canaryDiff }.compactMap(\.app)) == ["shop-b"])
    }

    @Test func mergingTheTwoSidesGivesTheSameComparisonAsOneStore() throws {
        let v3 = try Canary.payload("django-full-v04", app: "shop", version: "3.19.9")
        let v4 = try Canary.payload("django-minimal-v04", app: "shop", version: "4.16.0")
        let one = Canary.report([v3, v4])
        let merged = Canary.report([v3]).merged(with: Canary.report([v4]))
        #expect(merged.canary == one.canary)
        #expect(merged.findings.filter { $0.rule == .canaryDiff } == one.findings.filter { $0.rule == .canaryDiff })
        // Merging a finalized report with itself doubles the counts, never the findings.
        let twice = one.merged(with: one)
        #expect(twice.canary?["shop"]?.versions["3"]?.traces == 2 * (one.canary?["shop"]?.versions["3"]?.traces ?? 0))
        #expect(twice.findings.filter { $0.rule == .canaryDiff }.count == 3)
        // And it round-trips through JSON.
        let data = try JSONEncoder().encode(one)
        #expect(try JSONDecoder().decode(Report.self, from: data).canary == one.canary)
    }

    // MARK: - The comparison on hand-made profiles

    static func profile(traces: Int, _ ops: [(String, Int, [String: Int])]) -> CanaryProfile {
        CanaryProfile(traces: traces, spans: ops.reduce(0) { $0 + $1.1 },
                      operations: ops.map { CanaryOperation(service: "web", name: $0.0, type: "web", component: "flask", spans: $0.1, meta: $0.2) })
    }

    static func rows(_ before: CanaryProfile, _ after: CanaryProfile) -> [CanaryDiffRow] {
        CanaryDiff.rows(CanaryApp(versions: ["3": before, "4": after])) ?? []
    }

    @Test func rateHalvedIsLowerJustAboveHalfIsNot() {
        let v3 = Self.profile(traces: 100, [("a", 200, [:]), ("b", 200, [:])])
        let v4 = Self.profile(traces: 100, [("a", 100, [:]), ("b", 101, [:])])
        let rows = Self.rows(v3, v4)
        #expect(rows.map(\.change) == [.lower])
        #expect(rows.first?.operation == "a" && rows.first?.before.rate == 2 && rows.first?.after.rate == 1)
    }

    @Test func newOperationAndKeysOnMostSpans() {
        let v3 = Self.profile(traces: 10, [("a", 10, ["http.url": 10, "error.message": 4, "runtime-id": 10, "_dd.p.tid": 10])])
        let v4 = Self.profile(traces: 10, [("a", 10, ["http.route": 5]), ("b", 3, [:])])
        let rows = Self.rows(v3, v4)
        // http.url on all v3 spans, none of v4's: gone; error.message on 40%: not "most"; ids and
        // _dd.* internals never count; http.route on half the v4 spans: new.
        // (Keys in name order within an operation, operations in name order.)
        #expect(rows.map(\.change) == [.metaKeyNew, .metaKeyGone, .new])
        #expect(rows.map { $0.key ?? $0.operation } == ["http.route", "http.url", "b"])
        #expect(rows[1].before == CanaryDiffRow.Side(spans: 10, of: 10) && rows[1].after == CanaryDiffRow.Side(spans: 0, of: 10))
        #expect(rows[0].after.rate == 0.5)
        #expect(rows.allSatisfy { $0.confidence == .medium && $0.predictedBy == nil })
    }

    @Test func confidenceFollowsTheSmallerSide() {
        let v3 = Self.profile(traces: 20, [("a", 20, [:])])
        #expect(Self.rows(v3, Self.profile(traces: 20, [])).first?.confidence == .high)
        #expect(Self.rows(v3, Self.profile(traces: 19, [])).first?.confidence == .medium)
        #expect(Self.rows(v3, Self.profile(traces: 4, [])).first?.confidence == .low)
        #expect(CanaryDiff.rows(CanaryApp(versions: ["3": v3])) == nil)
    }

    @Test func profilesStayBoundedAndCountOverflowExactly() {
        var p = CanaryProfile()
        let ops = (0..<(CanaryLimits.operations + 5)).map {
            CanaryOperation(service: "s", name: "op\($0)", type: "", component: "", spans: 1,
                            meta: Dictionary(uniqueKeysWithValues: (0..<(CanaryLimits.keys + 3)).map { ("k\($0)", 1) }))
        }
        p.absorb(CanaryProfile(traces: 1, spans: ops.count, operations: ops))
        #expect(p.operations.count == CanaryLimits.operations + 1)
        #expect(p.operations.reduce(0) { $0 + $1.spans } == ops.count)
        let other = p.operations.first { $0.name == ReportLimits.other }
        #expect(other?.spans == 5)
        #expect(p.operations[0].meta.count == CanaryLimits.keys + 1 && p.operations[0].meta[ReportLimits.other] == 3)
    }
}
