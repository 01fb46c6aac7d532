import CompatReport
import CompatRules
import Foundation
import MessagePack
import Testing
@testable import TraceAnalysis

/// The cardinality replay as a test: payloads whose resources are all different (raw SQL with
/// literals, ids in paths, unique keys) keep the report bounded, and every count exact.
@Suite struct BoundedStateTests {
    /// `n` payloads of `spans` Django database spans each, every resource unique even after
    /// normalisation (a unique table name), plus one unique user metric key per span.
    static func uniquePayload(_ p: Int, spans: Int) -> CapturedRequest {
        traces((0..<spans).map { i in
            MP.span(service: "defaultdb", name: "sqlite.query", resource: "SELECT * FROM t\(p)x\(i)", id: UInt64(i + 1),
                    meta: ["component": "django-database", "_dd.base_service": "shop"], metrics: ["user.k\(p)_\(i)": 1])
        })
    }

    @Test func uniqueResourcesStayWithinTheCapsAndCountsStayExact() throws {
        let limits = ReportLimits(groupsPerScope: 50, groups: 400, apps: 4)
        let store = ReportStore(sampleLimit: 5, redact: false, limits: limits)
        let analyzer = Analyzer(store: store)
        let payloads = 1_500, spans = 10
        for p in 0..<payloads { analyzer.analyze(Self.uniquePayload(p, spans: spans)) }
        let report = store.snapshot()
        #expect(report.traffic.spans == payloads * spans)
        for rule in [RuleID.djangoMinimal, .tagNumeric] {
            let groups = report.findings.filter { $0.rule == rule }
            // Exactly the cap, plus the scope's one "other" group.
            #expect(groups.filter { !$0.isOverflow }.count == limits.groupsPerScope, "\(rule)")
            #expect(groups.filter(\.isOverflow).count == 1, "\(rule)")
            #expect(groups.reduce(0) { $0 + $1.count } == payloads * spans, "\(rule): the sum over groups is every span that matched")
            #expect(groups.first(where: \.isOverflow)?.count == payloads * spans - limits.groupsPerScope)
        }
        let json = try JSONEncoder().encode(report)
        #expect(json.count < 5_000_000)
    }

    @Test func theReportBoundHoldsAcrossScopes() {
        let limits = ReportLimits(groupsPerScope: 10, groups: 25, apps: 100)
        let store = ReportStore(sampleLimit: 1, redact: false, limits: limits)
        let analyzer = Analyzer(store: store)
        // 5 apps × 20 unique resources: 10 per scope would be 50 groups, the report keeps 25.
        for app in 0..<5 {
            for i in 0..<20 {
                analyzer.analyze(traces([MP.span(service: "db", name: "sqlite.query", resource: "SELECT a\(i)b FROM t",
                                                 meta: ["component": "django-database", "_dd.base_service": "app\(app)"])]))
            }
        }
        let findings = store.snapshot().findings.filter { $0.rule == .djangoMinimal }
        #expect(findings.filter { !$0.isOverflow }.count == 25)
        #expect(findings.reduce(0) { $0 + $1.count } == 100)
    }

    @Test func appsBeyondTheBoundAreCountedAsOther() {
        let store = ReportStore(sampleLimit: 5, redact: false, limits: ReportLimits(apps: 3))
        let analyzer = Analyzer(store: store)
        for app in 0..<10 {
            analyzer.analyze(traces([MP.span(service: "svc\(app)", name: "op", meta: ["flag": "True"])]))
        }
        let report = store.snapshot()
        #expect(report.services.count == 4)
        #expect(report.services["other"]?.spans == 7)
        #expect(report.services.values.reduce(0) { $0 + $1.spans } == 10)
        let repr = report.findings.filter { $0.rule == .tagRepr }
        #expect(repr.reduce(0) { $0 + $1.count } == 10)
        #expect(repr.filter { $0.app == "other" }.reduce(0) { $0 + $1.count } == 7)
    }

    @Test func literalsAndIdsAreOneGroup() {
        let r = judge(
            traces([MP.span(service: "db", name: "sqlite.query", resource: "SELECT * FROM users WHERE id = 42 AND name = 'bob'",
                            meta: ["component": "django-database", "_dd.base_service": "shop"])]),
            traces([MP.span(service: "db", name: "sqlite.query", resource: "SELECT * FROM users WHERE id = 7 AND name = 'o''neil'",
                            meta: ["component": "django-database", "_dd.base_service": "shop"])]))
        let db = r.findings.filter { $0.rule == .djangoMinimal }
        #expect(db.count == 1)
        #expect(db.first?.resource == "SELECT * FROM users WHERE id = ? AND name = ?")
        #expect(db.first?.count == 2)
    }

    @Test func snapshotIncludesWhatTheThreadHoldsAndHandsOverOnlyOnce() {
        let store = ReportStore()
        let analyzer = Analyzer(store: store)
        analyzer.analyze(traces([MP.span(name: "a", meta: ["x": "True"])]))
        #expect(store.snapshot().findings.first?.count == 1)
        #expect(store.snapshot().findings.first?.count == 1)
        analyzer.analyze(traces([MP.span(name: "a", meta: ["x": "True"])]))
        #expect(store.snapshot().findings.first?.count == 2)
        #expect(store.snapshot().traffic.spans == 2)
    }
}

@Suite struct ResourceShapeTests {
    static func shape(_ s: String) -> String {
        var shape = ResourceShape()
        let bytes = Array(s.utf8)
        bytes.withUnsafeBytes { shape.normalise(ByteView($0)) }
        return String(decoding: shape.bytes, as: UTF8.self)
    }

    @Test(arguments: [
        ("SELECT * FROM t WHERE id = 42", "SELECT * FROM t WHERE id = ?"),
        ("SELECT * FROM t WHERE x IN (1, 2, 3)", "SELECT * FROM t WHERE x IN (?)"),
        ("SELECT * FROM t WHERE name = 'o''neil' AND y = 3.5", "SELECT * FROM t WHERE name = ? AND y = ?"),
        ("UPDATE t SET h = 0x1F2E WHERE uid = 'a'", "UPDATE t SET h = ? WHERE uid = ?"),
        ("GET /users/123/orders/a3bb189e-8bf9-3888-9912-ace4e6543002", "GET /users/?/orders/?"),
        ("GET /blobs/deadbeef01", "GET /blobs/?"),
        ("SELECT table1.col FROM table1", "SELECT table1.col FROM table1"),
        ("GET /v0.4/traces", "GET /v0.4/traces"),
        ("SELECT \"quoted_ident\" FROM t", "SELECT \"quoted_ident\" FROM t"),
        ("django.core.cache.backends.locmem.get", "django.core.cache.backends.locmem.get"),
        ("GET /cafe/decade", "GET /cafe/decade"),
    ])
    func normalises(_ input: String, _ expected: String) {
        #expect(Self.shape(input) == expected)
    }

    @Test func boundsWhatItKeeps() {
        let long = String(repeating: "abcdefghij ", count: 1_000)
        #expect(Self.shape(long).utf8.count == AnalysisLimits.resourceBytesKept)
    }
}
