import CompatRules
import Foundation
import Testing
@testable import CompatReport

func finding(_ rule: RuleID = .tagRepr, service: String = "svc", op: String = "op", key: String? = "k", kind: String? = "bool",
             count: Int = 1, first: Int64 = 1000, last: Int64? = nil, samples: Int = 0) -> Finding {
    Finding(rule: rule, service: service, operation: op, key: key, kind: kind, count: count,
            firstSeen: ReportTime(milliseconds: first), lastSeen: ReportTime(milliseconds: last ?? first),
            samples: (0..<samples).map { Sample(traceID: "\($0)", spanID: "\(first + Int64($0))", valueType: "bool", excerpt: "True") })
}

func report(_ findings: [Finding], spans: Int = 10, requests: [String: Int] = ["/v0.4/traces": 1]) -> Report {
    var r = Report()
    r.findings = findings
    r.traffic.spans = spans
    r.traffic.requestsByEndpoint = requests
    r.traffic.tracePayloads = ["v0.4": 1]
    var s = ServiceSummary()
    s.spans = spans
    s.apiVersions = ["v0.4": 1]
    r.services["svc"] = s
    r.startedAt = ReportTime(milliseconds: 500)
    r.updatedAt = ReportTime(milliseconds: 9000)
    return r.finalized()
}

@Suite struct ReportMergeTests {
    @Test func mergeIsExact() {
        let a = report([finding(count: 3, first: 1000, last: 5000, samples: 2), finding(.structTag, key: "s", kind: "user", count: 1)], spans: 10)
        var b = report([finding(count: 4, first: 200, last: 3000, samples: 5), finding(.tagNumeric, key: "n", kind: "float", count: 2)],
                       spans: 7, requests: ["/v0.4/traces": 2, "/info": 1])
        b.traffic.decodeErrors.count = 2
        b.traffic.decodeErrors.samples = [DecodeError(source: "x", endpoint: "/v0.4/traces", reason: "truncated", offset: 17, at: ReportTime(milliseconds: 1))]
        b.startedAt = ReportTime(milliseconds: 100)
        let m = a.merged(with: b)
        let repr = m.findings.first { $0.rule == .tagRepr }!
        #expect(repr.count == 7)
        #expect(repr.firstSeen.milliseconds == 200 && repr.lastSeen.milliseconds == 5000)
        #expect(repr.samples.count == 5)
        #expect(m.findings.count == 3)
        #expect(m.traffic.spans == 17)
        #expect(m.traffic.requestsByEndpoint == ["/v0.4/traces": 3, "/info": 1])
        #expect(m.traffic.decodeErrors.count == 2 && m.traffic.decodeErrors.samples.first?.offset == 17)
        #expect(m.services["svc"]?.spans == 17)
        #expect(m.startedAt?.milliseconds == 100 && m.updatedAt?.milliseconds == 9000)
        #expect(m.findingCountsByRule == ["V4-TAG-REPR": 7, "V4-STRUCT-TAG": 1, "V4-TAG-NUMERIC": 2])
        // Order does not matter for counts and times.
        let m2 = b.merged(with: a)
        #expect(m2.findings.map(\.count) == m.findings.map(\.count))
        #expect(m2.findings.map(\.firstSeen) == m.findings.map(\.firstSeen))
        #expect(m2.traffic == m.traffic)
    }

    @Test func storeRecordingEqualsMergingReports() {
        let a = report([finding(count: 2, first: 10, last: 20)])
        let b = report([finding(count: 5, first: 5, last: 50), finding(.djangoMinimal, key: nil, kind: "cache", count: 6)])
        let store = ReportStore()
        store.record(a)
        store.record(b)
        let viaStore = store.snapshot()
        let viaMerge = a.merged(with: b)
        #expect(viaStore.findings == viaMerge.findings)
        #expect(viaStore.traffic == viaMerge.traffic)
        #expect(viaStore.services == viaMerge.services)
    }

    @Test func continuingAReportAddsOn() {
        let store = ReportStore()
        store.record(report([finding(count: 2)]))
        store.countRequest(endpoint: "/v0.4/traces?x=1")
        store.countNotAnalysed(endpoint: "/v0.5/traces")
        store.countProxyError("upstream_unreachable", endpoint: "/v0.4/traces")
        let first = store.snapshot()
        #expect(first.notAnalysedCount == 1)
        #expect(first.traffic.requestsByEndpoint["/v0.4/traces"] == 2)
        let next = ReportStore(continuing: first)
        next.record(report([finding(count: 3)]))
        let r = next.snapshot()
        #expect(r.findings.first?.count == 5)
        #expect(r.notAnalysedCount == 1)
        #expect(r.traffic.proxyErrors["upstream_unreachable"]?["/v0.4/traces"] == 1)
    }

    @Test func concurrentRecordingLosesNothing() async {
        let store = ReportStore()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<250 { store.record(report([finding(count: 1)])); store.countRequest(endpoint: "/info") } }
            }
        }
        let r = store.snapshot()
        #expect(r.findings.first?.count == 2000)
        #expect(r.traffic.requestsByEndpoint["/info"] == 2000)
    }

    /// The proxy's counts (kept apart from the recording lock, folded in by `snapshot`) are all
    /// there, in every snapshot, and stay bounded in endpoints.
    @Test func countsBesideRecordingAreFoldedInAndBounded() async {
        let store = ReportStore()
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for i in 0..<500 {
                        store.countNotAnalysed(endpoint: "/v0.4/traces?t=\(t)")
                        store.countProxyError("upstream_timeout", endpoint: "/v0.5/traces")
                        if i % 100 == 0 { _ = store.snapshot() }  // folding while counts arrive
                    }
                }
                group.addTask { for _ in 0..<250 { store.record(report([finding(count: 1)])) } }
            }
        }
        let r = store.snapshot()
        #expect(r.traffic.notAnalysed["/v0.4/traces"] == 2000)
        #expect(r.notAnalysedCount == 2000)
        #expect(r.traffic.proxyErrors["upstream_timeout"]?["/v0.5/traces"] == 2000)
        #expect(r.findings.first?.count == 1000)
        for i in 0..<300 { store.countNotAnalysed(endpoint: "/random/\(i)") }
        let bounded = store.snapshot()
        #expect(bounded.traffic.requestsByEndpoint.count <= ReportStore.endpointLimit + 1)
        #expect(bounded.notAnalysedCount == 2300)
        #expect(bounded.traffic.notAnalysed["other"] ?? 0 > 0)
    }
}

@Suite struct ReportFormatTests {
    @Test func jsonRoundTripIsExact() throws {
        var r = report([finding(count: 3, first: 1_764_000_000_123, last: 1_764_000_999_999, samples: 2),
                        finding(.djangoMinimal, service: "defaultdb", op: "sqlite.query", key: nil, kind: "database", count: 4)])
        r.findings[1].app = "svc"
        r.findings[1].twinSeen = 4
        r = r.finalized()
        let bytes = ReportRenderer.json(r)
        let back = try ReportRenderer.decode(json: bytes)
        #expect(back == r)
        let text = String(decoding: bytes, as: UTF8.self)
        for field in ["\"schema\" : \"trace-compat/report/v1\"", "\"traffic\"", "\"findings\"", "\"first_seen\" : \"2025-11-24T", "\"last_seen\"",
                      "\"samples\"", "\"fix\"", "\"confidence\"", "\"severity\"", "\"kind\" : \"database\"", "\"twin_seen\" : 4", "\"checklist\""] {
            #expect(text.contains(field), "\(field)")
        }
    }

    @Test func otherSchemasAreRefused() {
        #expect(throws: (any Error).self) { try ReportRenderer.decode(json: Array(#"{"schema":"trace-compat/report/v9"}"#.utf8)) }
    }

    @Test func reportTimeIsISO8601() {
        #expect(ReportTime(milliseconds: 0).iso8601 == "1970-01-01T00:00:00.000Z")
        #expect(ReportTime(milliseconds: 1_795_575_858_042).iso8601 == "2026-11-25T03:04:18.042Z")
        #expect(ReportTime(iso8601: "2026-11-25T03:04:18.042Z")?.milliseconds == 1_795_575_858_042)
        #expect(ReportTime(iso8601: "2000-02-29T23:59:59Z")?.iso8601 == "2000-02-29T23:59:59.000Z")
        #expect(ReportTime(iso8601: "yesterday") == nil)
    }

    @Test func excerptsAreShort() {
        #expect(Sample.excerpt(of: "True") == "True")
        let long = Sample.excerpt(of: String(repeating: "x", count: 100))
        #expect(long.count == Sample.excerptLimit && long.hasSuffix("…"))
    }

    /// The ASCII fast path gives what the Character walk gives, at every length around the limit
    /// and with every kind of line break (which must take the slow path).
    @Test func excerptFastPathMatchesCharacterWalk() {
        func reference(_ value: String) -> String {
            let clean = String(value.map { $0.isNewline ? "⏎" : $0 })
            guard clean.count > Sample.excerptLimit else { return clean }
            return String(clean.prefix(Sample.excerptLimit - 1)) + "…"
        }
        var inputs = ["", "True", "{'a': 1}", "a\nb", "a\r\nb", "\u{0B}x", "\u{0C}", "x\u{85}y", "x\u{2028}y", "é", "日本語のタグ"]
        for n in [30, 31, 32, 33, 34, 100] {
            inputs.append(String(repeating: "x", count: n))
            inputs.append(String(repeating: "x", count: n - 1) + "\n")
            inputs.append(String(repeating: "é", count: n))
            inputs.append(String(repeating: "ab\r\n", count: n / 4 + 1))
        }
        for input in inputs { #expect(Sample.excerpt(of: input) == reference(input), "\(input.debugDescription)") }
        #expect(Sample.excerpt(of: "a\r\nb") == "a⏎b")
    }

    @Test func markdownSaysWhatWasSeenWhatBreaksAndWhatToDo() {
        let r = report([finding(.structTag, key: "my.struct", kind: "user"), finding(count: 2)])
        let md = ReportRenderer.markdown(r)
        for text in ["# dd-trace-py v4 readiness report", "## In short", "## What to do", "## What was seen", "## What breaks under v4",
                     "V4-STRUCT-TAG", "## The whole checklist", "check in code", "CODE-SPAN-FINISHED", "pytest -W error::ddtrace.DDTraceDeprecationWarning"] {
            #expect(md.contains(text), "\(text)")
        }
    }

    @Test func checklistIsCompleteAndSaysWhatCouldNotBeSeen() {
        var r = Report()
        var s = ServiceSummary()
        s.apiVersions = ["v0.5": 3]
        s.spans = 10
        r.services["svc"] = s
        r.traffic.spans = 10
        r = r.finalized()
        #expect(r.checklist.count == RuleID.allCases.count + CodeChecklist.items.count)
        #expect(r.checklist.first { $0.id == "V4-STRUCT-TAG" }?.status == .notObservable)
        #expect(r.checklist.first { $0.id == "V4-AGENT" }?.status == .notObservable)
        #expect(r.checklist.first { $0.id == "V4-TAG-REPR" }?.status == .notSeen)
        #expect(r.checklist.filter { $0.visibility == .code }.allSatisfy { $0.status == .checkInCode })
        #expect(r.services["svc"]?.structTagsVisible == false)
    }

    @Test func atomicWriteAndReadBack() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rules-report-\(UInt32.random(in: 0...UInt32.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = report([finding(count: 2)])
        try ReportFile.write(r, to: dir + "/report.json")
        #expect(try ReportFile.read(from: dir + "/report.json") == r)
        #expect(FileManager.default.fileExists(atPath: dir + "/report.md"))
        #expect(FileManager.default.fileExists(atPath: dir + "/report.html"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
        #expect(try ReportFile.read(from: dir + "/missing.json") == nil)
    }
}
