import CompatReport
import Foundation
import NIOCore
import Testing
import TraceAnalysis
@testable import TraceCompatProxy

/// A forwarded request is analysed from the tee's buffer when its body is in one part (no array
/// copy) and from one contiguous copy when it is in several: either way the report is exactly
/// the one the same request gives as a `CapturedRequest` (the audit's path).
@Suite struct AnalysisQueueForwardedTests {
    static let at = Date(timeIntervalSince1970: 1_764_000_000)

    /// The report of `requests` analysed one by one as captured requests (no queue).
    static func direct(_ requests: [FixtureRequest]) -> Report {
        let store = ReportStore()
        let analyzer = Analyzer(store: store)
        for r in requests {
            analyzer.analyze(CapturedRequest(method: r.method, path: r.path, headers: r.headers.map { (name: $0.0, value: $0.1) },
                                             body: r.body, receivedAt: at))
        }
        analyzer.handOverNow()
        return store.snapshot()
    }

    /// The report of `requests` as the proxy hands them over: forwarded, bodies cut into parts of `partSize`.
    static func forwarded(_ requests: [FixtureRequest], partSize: Int) -> (Report, parts: [Int]) {
        let store = ReportStore()
        let queue = AnalysisQueue(capacity: 64, threads: 1, store: store)
        let allocator = ByteBufferAllocator()
        var parts: [Int] = []
        for r in requests {
            // The head as the client sent it (the proxy hands analysis its bytes, as scanned).
            let head = ByteBuffer(string: "\(r.method) \(r.path) HTTP/1.1\r\n" + r.headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n")
            guard case .head(let scanned) = RequestHeadScanner.scan(head) else {
                Issue.record("\(r.path): the fixture's head does not scan")
                continue
            }
            var tee = TeeBody()
            var offset = 0
            while offset < r.body.count {
                let end = min(r.body.count, offset + partSize)
                tee.append(allocator.buffer(bytes: r.body[offset..<end]), allocator: allocator)
                offset = end
            }
            parts.append(tee.parts.count)
            #expect(queue.offer(.forwarded(ForwardedRequest(method: r.method, uri: r.path, head: head, scanned: scanned, body: tee, receivedAt: at))))
            queue.waitUntilIdle()
        }
        queue.drain()
        return (store.snapshot(), parts)
    }

    @Test(arguments: ["manual-v04", "manual-v05", "django-full-v04"])
    func oneBufferOrSeveralGiveTheCapturedRequestsReport(_ scenario: String) throws {
        let requests = try Fixtures.requests(scenario)
        let expected = Self.direct(requests)
        // Whole bodies: one part each (small ones gathered, large ones kept as read).
        let (whole, wholeParts) = Self.forwarded(requests, partSize: Int.max / 2)
        #expect(wholeParts.allSatisfy { $0 <= 1 })
        // 16 KiB parts: the Django bodies come in several (the contiguous copy).
        let (cut, cutParts) = Self.forwarded(requests, partSize: TeeBody.keepAsIsFrom)
        if scenario.hasPrefix("django") { #expect(cutParts.contains { $0 > 1 }) }
        for report in [whole, cut] {
            #expect(report.findings == expected.findings)
            #expect(report.traffic == expected.traffic)
            #expect(report.services == expected.services)
        }
        #expect(expected.traffic.spans > 0)
    }
}
