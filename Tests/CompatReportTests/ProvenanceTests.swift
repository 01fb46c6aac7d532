import CompatRules
import Foundation
import Testing
@testable import CompatReport

/// Every report says where it comes from; a merged report lists its inputs exactly.
@Suite struct ProvenanceTests {
    static func node(_ host: String, port: Int, first: Int64, last: Int64, count: Int) -> Report {
        var r = report([finding(.tagRepr, service: "svc-\(host)", count: count, first: first, last: last)])
        r.startedAt = ReportTime(milliseconds: first)
        r.updatedAt = ReportTime(milliseconds: last)
        r.provenance = Report.Provenance(command: "proxy", host: host, version: "0.13.0", listen: "10.0.0.\(port):8126")
        return r.finalized()
    }

    @Test func mergingListsEachInputWithItsProvenanceAndTimes() throws {
        let a = Self.node("node-a", port: 1, first: 1_000, last: 5_000, count: 2)
        let b = Self.node("node-b", port: 2, first: 500, last: 3_000, count: 3)
        let merged = Report.merging([("http://10.0.0.1:8137/compat/report.json", a), ("b.json", b)],
                                    provenance: Report.Provenance(command: "merge", host: "laptop", version: "0.13.0"))
        #expect(merged.sources == [
            Report.Source(source: "http://10.0.0.1:8137/compat/report.json", provenance: a.provenance,
                          firstSeen: ReportTime(milliseconds: 1_000), lastSeen: ReportTime(milliseconds: 5_000)),
            Report.Source(source: "b.json", provenance: b.provenance,
                          firstSeen: ReportTime(milliseconds: 500), lastSeen: ReportTime(milliseconds: 3_000)),
        ])
        #expect(merged.provenance == Report.Provenance(command: "merge", host: "laptop", version: "0.13.0"))
        #expect(merged.startedAt == ReportTime(milliseconds: 500))
        #expect(merged.updatedAt == ReportTime(milliseconds: 5_000))
        // The data is the plain merge's; only provenance and sources differ.
        var plain = a.merged(with: b)
        plain.provenance = merged.provenance
        plain.sources = merged.sources
        #expect(plain == merged)
        // Through JSON and back, exactly (the schema's field names).
        let json = ReportRenderer.json(merged)
        #expect(try ReportRenderer.decode(json: json) == merged)
        let text = String(decoding: json, as: UTF8.self)
        for field in [#""sources" : ["#, #""host" : "node-a""#, #""listen" : "10.0.0.1:8126""#, #""first_seen" : "1970-01-01T00:00:01.000Z""#,
                      #""command" : "merge""#, #""source" : "b.json""#] {
            #expect(text.contains(field), "\(field) missing")
        }
    }

    @Test func aMergedInputKeepsItsSourcesNested() {
        let a = Self.node("node-a", port: 1, first: 1_000, last: 5_000, count: 2)
        let b = Self.node("node-b", port: 2, first: 500, last: 3_000, count: 3)
        let c = Self.node("node-c", port: 3, first: 700, last: 900, count: 1)
        let ab = Report.merging([("a.json", a), ("b.json", b)])
        let all = Report.merging([("ab.json", ab), ("c.json", c)])
        #expect(all.sources?.map(\.source) == ["ab.json", "c.json"])
        #expect(all.sources?[0].sources?.map(\.source) == ["a.json", "b.json"])
        #expect(all.sources?[0].sources?.map { $0.provenance?.host } == ["node-a", "node-b"])
        #expect(all.findings.reduce(0) { $0 + $1.count } == 6)
    }

    @Test func reportsWithoutProvenanceStillRead() throws {
        var r = report([finding()])
        r.provenance = nil
        let json = String(decoding: ReportRenderer.json(r.finalized()), as: UTF8.self)
        #expect(!json.contains("provenance") && !json.contains("sources"))
        let back = try ReportRenderer.decode(json: Array(json.utf8))
        #expect(back.provenance == nil && back.sources == nil)
        #expect(back.provenanceSummary == nil)
    }

    @Test func theStoreWritesItsProvenanceInEverySnapshot() {
        let store = ReportStore()
        store.setProvenance(Report.Provenance(command: "proxy", listen: "127.0.0.1:8126"))
        let p = store.snapshot().provenance
        #expect(p?.host == Report.Provenance.hostName())
        #expect(p?.host.isEmpty == false)
        #expect(p?.version == Report.generatorVersion)
        #expect(p?.listen == "127.0.0.1:8126")
    }

    @Test func theSummarySentenceNamesHostsAndSources() {
        let a = Self.node("node-a", port: 1, first: 1_000, last: 5_000, count: 2)
        #expect(a.provenanceSummary == "Made by trace-compat 0.13.0 (proxy) on host `node-a`, listening on `10.0.0.1:8126`.")
        let merged = Report.merging([("a.json", a), ("http://x:8137/compat/report.json", Self.node("node-b", port: 2, first: 1, last: 2, count: 1))],
                                    provenance: Report.Provenance(command: "merge", host: "laptop", version: "0.13.0"))
        #expect(merged.provenanceSummary == "Merged by trace-compat 0.13.0 (merge) on host `laptop`, from 2 report(s): `a.json` (host `node-a`), `http://x:8137/compat/report.json` (host `node-b`).")
    }
}
