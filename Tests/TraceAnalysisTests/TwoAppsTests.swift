import CompatReport
import CompatRules
import Foundation
import MessagePack
import Testing
@testable import TraceAnalysis

/// Two Django apps behind one proxy: both send the fixture's spans, whose database spans share the
/// service `defaultdb` and cache spans `django`; each keeps its own findings and share of spans.
enum TwoApps {
    /// The django-full-v04 capture with every span's service and `_dd.base_service` renamed for
    /// `app` (services that are not the app's own, like `defaultdb`, stay: that is what they share).
    static func payload(renamedFor app: String) throws -> CapturedRequest {
        let dir = "\(Fixtures.root)/django-full-v04"
        var request = try CaptureSet.load(headers: "\(dir)/003-POST-v0.4_traces.headers.json", body: "\(dir)/003-POST-v0.4_traces.msgpack")
        let value = try request.body.withUnsafeBytes { try MessagePackReader.decode($0) }
        request.body = MessagePackWriter.encode(rename(value, app: app))
        return request
    }

    static func rename(_ value: MessagePackValue, app: String) -> MessagePackValue {
        switch value {
        case .array(let items): return .array(items.map { rename($0, app: app) })
        case .map(let entries):
            // A span: its base service (and its service when it is the app's own) become `app`.
            return .map(entries.map { k, v in
                if k == .string(Array("service".utf8)), v == .string(Array("shop".utf8)) { return (k, .string(Array(app.utf8))) }
                if k == .string(Array("_dd.base_service".utf8)) { return (k, .string(Array(app.utf8))) }
                return (k, rename(v, app: app))
            })
        default: return value
        }
    }
}

@Suite struct TwoAppsTests {
    @Test func twoDjangoAppsKeepTheirOwnFindingsAndShares() throws {
        let one = try Fixtures.audit("django-full-v04")
        let original = one.findings.filter { $0.rule == .djangoMinimal }
        let app = try #require(original.first?.app)
        #expect(original.allSatisfy { $0.app == app })

        let store = ReportStore()
        let analyzer = Analyzer(store: store)
        let a = try TwoApps.payload(renamedFor: "shop-a"), b = try TwoApps.payload(renamedFor: "shop-b")
        analyzer.analyze(a)
        analyzer.analyze(b)
        analyzer.analyze(b)
        let report = store.snapshot()
        let findings = report.findings.filter { $0.rule == .djangoMinimal }
        #expect(Set(findings.compactMap(\.app)) == ["shop-a", "shop-b"])
        #expect(report.services["shop-a"]?.spans == one.services[app]?.spans)
        #expect(report.services["shop-b"]?.spans == 2 * (one.services[app]?.spans ?? -1))
        for f in original {
            let inA = findings.first { $0.app == "shop-a" && $0.operation == f.operation && $0.resource == f.resource && $0.kind == f.kind }
            let inB = findings.first { $0.app == "shop-b" && $0.operation == f.operation && $0.resource == f.resource && $0.kind == f.kind }
            #expect(inA?.count == f.count, "\(f.operation) \(f.resource)")
            #expect(inB?.count == 2 * f.count, "\(f.operation) \(f.resource)")
            // Same share in both apps (each app's spans are its own), equal to the single app's.
            #expect(inA?.share == f.share)
            #expect(inB?.share == f.share)
            #expect(inA?.twinSeen == f.twinSeen)
        }
        // The database spans keep their shared service name in both apps.
        #expect(findings.contains { $0.app == "shop-a" && $0.service == "defaultdb" })
        #expect(findings.contains { $0.app == "shop-b" && $0.service == "defaultdb" })
    }
}
