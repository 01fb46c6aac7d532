import AgentImitation
import Foundation
import Testing
import TraceAnalysis
@testable import TraceReplay

/// `trace-compat audit` and `trace-replay` read captured traffic with one loader (`CaptureSet`):
/// on every fixture folder they see the same requests, in the same order, with the same bodies.
@Suite struct CaptureLoaderTests {
    static let scenarios = ["manual-v04", "manual-v05", "manual-v04-pywriter", "django-full-v04", "django-full-v05", "django-minimal-v04"]

    @Test(arguments: scenarios)
    func auditAndReplaySeeTheSameRequests(scenario: String) throws {
        let folder = fixturesDirectory + "/" + scenario
        // What audit judges: every request entry, loaded as the analyzer receives it.
        var audited: [String] = []
        for case .request(let headers, let body) in try CaptureSet.scan([folder]).entries {
            let request = try CaptureSet.load(headers: headers, body: body)
            audited.append("\(request.method) \(request.path) \(SHA256.hex(request.body))")
        }
        let replayed = try ReplayPayload.load([folder]).map { "\($0.method) \($0.path) \($0.sha256)" }
        #expect(replayed == audited)
        // And both are what is on disk: one request per .headers.json, in name order.
        let headerFiles = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".headers.json") }.sorted()
        #expect(replayed.count == headerFiles.count)
        let methods = headerFiles.map { String($0.split(separator: "-")[1]) }
        #expect(replayed.map { String($0.split(separator: " ")[0]) } == methods)
    }

    @Test func tracesOnlyKeepsTheTracePayloadsInOrder() throws {
        let folder = fixturesDirectory + "/django-full-v04"
        let all = try ReplayPayload.load([folder])
        let traces = try ReplayPayload.load([folder], selecting: .traces)
        #expect(traces.map(\.name) == all.filter { $0.path.hasSuffix("/traces") }.map(\.name))
        #expect(traces.map(\.name) == ["003-POST-v0.4_traces.msgpack"])
    }

    /// Audit and replay refuse a file that is not captured traffic with `CaptureSet`'s one text,
    /// and it names exactly the endings `scan` reads as traffic.
    @Test func aFileThatIsNotTrafficIsRefusedInCaptureSetsWords() throws {
        let dir = NSTemporaryDirectory() + "capture-words-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notes = dir + "/notes.txt"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notes))
        #expect(CaptureSet.notTrafficReason == "not captured traffic (expected *.headers.json, *.msgpack, *.body.json, *.bin or *.response.json)")
        #expect(throws: ReplayError.unreadable(notes, CaptureSet.notTrafficReason)) { try ReplayPayload.load([notes]) }
        #expect(try CaptureSet.scan([notes]).entries == [.foreign(notes)])
        for suffix in [CaptureSet.headersSuffix] + CaptureSet.bodySuffixes + [CaptureSet.agentAnswerSuffix] {
            let file = dir + "/001-capture-v0.4" + suffix
            try Data("{}".utf8).write(to: URL(fileURLWithPath: file))
            defer { try? FileManager.default.removeItem(atPath: file) }
            let entries = try CaptureSet.scan([file]).entries
            #expect(entries.count == 1 && entries != [.foreign(file)], "\(suffix)")
            #expect(CaptureSet.notTrafficReason.contains("*" + suffix))
        }
    }
}
