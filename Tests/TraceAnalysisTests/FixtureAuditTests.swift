import CompatReport
import CompatRules
import Foundation
import Testing
@testable import TraceAnalysis

/// Auditing each captured scenario of `../shared/fixtures` gives exactly the findings its
/// `expected.json` lists (the ground truth written when the traffic was produced).
enum Fixtures {
    static let root: String = {
        // Tests/TraceAnalysisTests/<file> → repository → ../shared/fixtures
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    }()

    static let scenarios = ["manual-v04", "manual-v05", "manual-v04-pywriter", "django-full-v04", "django-full-v05", "django-minimal-v04"]

    static func expected(_ scenario: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(scenario)/expected.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func audit(_ scenario: String, redact: Bool = false) throws -> Report {
        let store = ReportStore(sampleLimit: 5, redact: redact)
        let analyzer = Analyzer(store: store)
        for entry in try CaptureSet.scan(["\(root)/\(scenario)"]).entries {
            guard case .request(let headers, let body) = entry else { continue }
            let outcome = analyzer.analyze(try CaptureSet.load(headers: headers, body: body))
            #expect(outcome.decodeError == nil, "\(scenario): \(String(describing: outcome.decodeError))")
        }
        return store.snapshot()
    }
}

struct Pair: Hashable, CustomStringConvertible {
    var span: String
    var key: String
    var description: String { "(\(span), \(key))" }
}

@Suite struct FixtureAuditTests {
    @Test(arguments: Fixtures.scenarios)
    func tagReprFindingsAreExactlyTheExpectedOnes(_ scenario: String) throws {
        let expected = try Fixtures.expected(scenario)
        let report = try Fixtures.audit(scenario)
        let want = Set((expected["nonstring_tag_repr"] as! [[String: Any]]).map { Pair(span: $0["span"] as! String, key: $0["key"] as! String) })
        let repr = report.findings.filter { $0.rule == .tagRepr }
        let got = Set(repr.map { Pair(span: $0.operation, key: $0.key ?? "") })
        #expect(got == want)
        #expect(repr.count == want.count, "one finding per (span, key)")
        // The excerpt is the value as it travelled (all fixture values are short).
        for e in expected["nonstring_tag_repr"] as! [[String: Any]] {
            let f = repr.first { $0.operation == e["span"] as? String && $0.key == e["key"] as? String }
            #expect(f?.samples.first?.excerpt == e["value"] as? String)
        }
    }

    @Test(arguments: Fixtures.scenarios)
    func structTagFindingsAreExactlyTheExpectedOnes(_ scenario: String) throws {
        let expected = try Fixtures.expected(scenario)
        let report = try Fixtures.audit(scenario)
        let want = Set((expected["struct_tags"] as! [[String: Any]]).map { Pair(span: $0["span"] as! String, key: $0["key"] as! String) })
        let got = Set(report.findings.filter { $0.rule == .structTag }.map { Pair(span: $0.operation, key: $0.key ?? "") })
        #expect(got == want)
        for f in report.findings where f.rule == .structTag {
            #expect(f.severity == .breaks && f.kind == "user")
        }
        #expect(report.internalStructTags.isEmpty)
        // Visibility per service: v0.4 shows struct tags, v0.5 cannot.
        let api = expected["api"] as! String
        for (_, s) in report.services {
            #expect(s.structTagsVisible == (api == "v0.4"))
            if api == "v0.5" { #expect(s.structTagsNote?.contains("DD_TRACE_API_VERSION=v0.4") == true) }
        }
    }

    @Test(arguments: Fixtures.scenarios)
    func numericTagFindingsComeOncePerKey(_ scenario: String) throws {
        let expected = try Fixtures.expected(scenario)
        let report = try Fixtures.audit(scenario)
        let list = (expected["nonstring_tag_numeric"] as? [[String: Any]]) ?? []
        let numeric = report.findings.filter { $0.rule == .tagNumeric }
        #expect(Set(numeric.map { $0.key ?? "" }) == Set(list.map { $0["key"] as! String }))
        #expect(numeric.count == list.count, "once per key, never per span")
        for e in list {
            let f = numeric.first { $0.key == e["key"] as? String }
            #expect(f?.samples.first?.operation == e["span"] as? String)
            #expect(f?.confidence == .low && f?.severity == .check)
        }
    }

    @Test(arguments: Fixtures.scenarios)
    func djangoMinimalCountsPerKind(_ scenario: String) throws {
        let expected = try Fixtures.expected(scenario)
        let report = try Fixtures.audit(scenario)
        let want = expected["django_minimal_drops"] as! [String: Int]
        var got: [String: Int] = ["database": 0, "cache": 0, "template": 0]
        for f in report.findings where f.rule == .djangoMinimal { got[f.kind ?? "?", default: 0] += f.count }
        #expect(got == want)
        for f in report.findings where f.rule == .djangoMinimal {
            #expect(f.app == "shop")
            #expect(f.share != nil && f.share! > 0 && f.share! < 1)
            if f.kind == "database" { #expect(f.twinSeen == f.count, "every django-database span has its sqlite twin") }
        }
    }

    @Test(arguments: Fixtures.scenarios)
    func nothingElseFiresAndTrafficMatches(_ scenario: String) throws {
        let expected = try Fixtures.expected(scenario)
        let report = try Fixtures.audit(scenario)
        let allowed: Set<RuleID> = [.tagRepr, .tagNumeric, .structTag, .djangoMinimal]
        #expect(report.findings.filter { !allowed.contains($0.rule) }.isEmpty)
        #expect(report.traffic.spans == expected["spans"] as? Int)
        #expect(report.traffic.traces == expected["traces"] as? Int)
        #expect(report.traffic.tracePayloads[expected["api"] as! String] == 1)
        #expect(report.traffic.decodeErrors.count == 0)
        let quiet = Set((expected["spans_without_findings"] as? [String]) ?? [])
        #expect(report.findings.filter { quiet.contains($0.operation) }.isEmpty)
        for (_, s) in report.services {
            #expect(s.tracerVersions.keys.sorted() == ["3.19.9"])
            #expect(s.pythonVersions.keys.sorted() == ["3.11.7"])
        }
    }

    @Test func djangoFullHasNoTagReprOnKeysDdtraceWritesItself() throws {
        for scenario in ["django-full-v04", "django-full-v05", "django-minimal-v04"] {
            let report = try Fixtures.audit(scenario)
            #expect(report.findings.filter { $0.rule == .tagRepr || $0.rule == .tagNumeric }.isEmpty, "\(scenario)")
        }
    }

    @Test func djangoPercentagesAreSharesOfTheAppsSpans() throws {
        let report = try Fixtures.audit("django-full-v04")
        let database = report.findings.filter { $0.rule == .djangoMinimal && $0.kind == "database" }
        let share = database.compactMap(\.share).reduce(0, +)
        #expect(abs(share - 174.0 / 409.0) < 0.01)
        #expect(report.services["shop"]?.spans == 409)
    }

    @Test func redactedAuditKeepsNoExcerpts() throws {
        let report = try Fixtures.audit("manual-v04", redact: true)
        #expect(!report.findings.isEmpty)
        #expect(report.options.redacted)
        for f in report.findings { for s in f.samples { #expect(s.excerpt == nil) } }
    }

    @Test func allThreeManualCapturesGiveTheSameSpanFindings() throws {
        // Same program over v0.4, v0.5 and the legacy writer: same findings, except struct tags
        // (absent from v0.5) and the numeric kind (the legacy writer keeps ints).
        func keys(_ r: Report) -> Set<String> {
            Set(r.findings.filter { $0.rule != .structTag }.map {
                "\($0.rule.rawValue) \($0.operation) \($0.key ?? "") \($0.rule == .tagNumeric ? "" : $0.kind ?? "") \($0.count)"
            })
        }
        let v04 = keys(try Fixtures.audit("manual-v04"))
        #expect(v04.count == 11)
        #expect(v04 == keys(try Fixtures.audit("manual-v05")))
        #expect(v04 == keys(try Fixtures.audit("manual-v04-pywriter")))
    }
}
