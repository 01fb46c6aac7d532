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
}
