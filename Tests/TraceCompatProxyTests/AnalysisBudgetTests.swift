import CompatReport
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TraceAnalysis
import TraceCompatProxy

/// `queue_max_bytes` bounds every body byte held for analysis, including bodies still being
/// received; what does not fit is forwarded unchanged and counted `not_analysed`.
@Suite struct AnalysisBudgetTests {
    @Test func defaultQueueMaxBytesIs16MiB() {
        #expect(ProxyConfiguration().queueMaxBytes == 16 * 1024 * 1024)
        #expect(AnalysisQueue.defaultMaxBytes == 16 * 1024 * 1024)
    }

    @Test func reservationsCountAgainstTheBudgetUntilReleasedOrAnalysed() {
        let queue = AnalysisQueue(capacity: 4, maxBytes: 100, threads: 1, store: ReportStore())
        defer { queue.drain() }
        #expect(queue.reserve(60))
        #expect(!queue.reserve(50), "60 + 50 > 100")
        #expect(queue.heldBytes == 60)
        queue.release(60)
        #expect(queue.heldBytes == 0)
        #expect(queue.reserve(50))
        #expect(queue.reserve(50))
        #expect(!queue.reserve(1))
        // A reserved body handed to the queue stays counted until analysed, then its bytes are given back.
        let request = CapturedRequest(method: "POST", path: "/v0.4/traces", headers: [("Content-Type", "application/msgpack")],
                                      body: [0x90] + Array(repeating: 0xC0, count: 49))
        #expect(queue.offer(.request(request), reserved: 50))
        queue.waitUntilIdle()
        #expect(queue.heldBytes == 50)
        queue.release(50)
        // One body alone may exceed the budget (else it could never be analysed), but nothing beside it.
        #expect(queue.reserve(500))
        #expect(!queue.reserve(1))
        queue.release(500)
        #expect(queue.heldBytes == 0)
    }

    @Test func aFullQueueGivesTheReservedBytesBack() {
        let queue = AnalysisQueue(capacity: 1, maxBytes: 1000, threads: 1, store: ReportStore())
        #expect(queue.reserve(10))
        queue.drain()  // no longer accepting: every offer is refused
        #expect(!queue.reserve(10))
        #expect(!queue.offer(.request(CapturedRequest(method: "POST", path: "/v0.4/traces", headers: [], body: Array(repeating: 0x90, count: 10))), reserved: 10))
        #expect(queue.heldBytes == 0)
    }

    private static func waitUntil(_ what: Comment, _ condition: () -> Bool) async throws {
        for _ in 0..<2000 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("never happened: \(what)")
    }

    private static func rawHead(_ payload: FixtureRequest) -> [UInt8] {
        var head = "POST \(payload.path) HTTP/1.1\r\nHost: x\r\n"
        for (name, value) in payload.headers where !["content-length", "transfer-encoding", "host"].contains(name.lowercased()) {
            head += "\(name): \(value)\r\n"
        }
        head += "Content-Length: \(payload.body.count)\r\n\r\n"
        return Array(head.utf8)
    }

    /// B is sent whole with Content-Length (counted in full when its head arrives), or chunked
    /// (counted as its chunks arrive).
    @Test(arguments: [false, true])
    func aBodyThatDoesNotFitBesideOneBeingReceivedIsForwardedAndCountedNotAnalysed(chunked: Bool) async throws {
        let payload = try Fixtures.requests("django-full-v04").first { $0.path == "/v0.4/traces" }!
        let harness = try await ProxyHarness.start { $0.queueMaxBytes = payload.body.count + 16 }
        // A: head and half the body. Its declared length is counted against the budget at once.
        let slow = try await RawConnection.connect(harness.address)
        let half = payload.body.count / 2
        try await slow.write(Self.rawHead(payload) + payload.body[..<half])
        try await Self.waitUntil("the slow body is counted") { harness.proxy.analysisHeldBytes == payload.body.count }
        // B: the same payload whole, which does not fit beside A's: forwarded all the same.
        let answer = try await TestClient.request(harness.address, .POST, payload.path, headers: payload.headers, body: payload.body, chunked: chunked)
        #expect(answer.status == 200)
        #expect(harness.upstream!.requests.map(\.body) == [payload.body])
        // A finishes and is analysed.
        try await slow.write(Array(payload.body[half...]))
        try await Self.waitUntil("both forwarded") { harness.upstream!.requests.count == 2 }
        #expect(harness.upstream!.requests.allSatisfy { $0.body == payload.body })
        let report = harness.report()
        #expect(report.traffic.tracePayloadCount == 1)
        #expect(report.notAnalysedCount == 1)
        #expect(harness.proxy.analysisHeldBytes == 0)
        await slow.close()
        await harness.stop()
    }

    @Test func anAbandonedBodyGivesItsBytesBack() async throws {
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        let harness = try await ProxyHarness.start()
        let slow = try await RawConnection.connect(harness.address)
        try await slow.write(Self.rawHead(payload) + payload.body.prefix(payload.body.count / 2))
        try await Self.waitUntil("the body is counted") { harness.proxy.analysisHeldBytes == payload.body.count }
        await slow.close()
        try await Self.waitUntil("the bytes are given back") { harness.proxy.analysisHeldBytes == 0 }
        // Later payloads are analysed as usual.
        let answer = try await TestClient.request(harness.address, .POST, payload.path, headers: payload.headers, body: payload.body)
        #expect(answer.status == 200)
        let report = harness.report()
        #expect(report.traffic.tracePayloadCount == 1)
        #expect(report.notAnalysedCount == 0)
        await harness.stop()
    }
}
