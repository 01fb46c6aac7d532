import CompatReport
import Foundation
import NIOCore
import Synchronization
import Testing
import TraceAnalysis
@testable import TraceCompatProxy

/// The queue hands every accepted unit of work to the injected consumer, exactly once, with a
/// forwarded body lent contiguous whatever parts the tee kept; and `finish` once per thread.
/// (That the default consumer, `Analyzer`, still gives the captured requests' report is
/// `AnalysisQueueForwardedTests`.)
@Suite struct AnalysisQueueConsumerTests {
    /// Counts what it is handed, by kind, and sums the forwarded bodies' bytes as lent.
    struct Counts: Equatable {
        var requests = 0, forwarded = 0, agentInfo = 0, agentVersion = 0, finished = 0
        var forwardedBytes = 0, byteSum = 0
        var targets: [String] = []
    }

    /// What every thread's consumer counted.
    final class Tally: Sendable {
        let counts = Mutex(Counts())
    }

    final class Counting: AnalysisQueueConsumer {
        let tally: Tally
        init(_ tally: Tally) { self.tally = tally }

        func consume(_ work: consuming AnalysisQueue.Work) {
            switch work {
            case .request: tally.counts.withLock { $0.requests += 1 }
            case .forwarded(let request):
                let (size, sum) = request.withContiguousBody { body in (body.count, body.reduce(0) { $0 &+ Int($1) }) }
                tally.counts.withLock {
                    $0.forwarded += 1
                    $0.forwardedBytes += size
                    $0.byteSum &+= sum
                    $0.targets.append(request.requestTarget)
                }
            case .agentInfo: tally.counts.withLock { $0.agentInfo += 1 }
            case .agentVersion: tally.counts.withLock { $0.agentVersion += 1 }
            }
        }

        func finish() { tally.counts.withLock { $0.finished += 1 } }
    }

    static func forwarded(_ r: FixtureRequest, partSize: Int) throws -> ForwardedRequest {
        let head = ByteBuffer(string: "\(r.method) \(r.path) HTTP/1.1\r\n" + r.headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n")
        guard case .head(let scanned) = RequestHeadScanner.scan(head) else { throw CancellationError() }
        var tee = TeeBody()
        var offset = 0
        let allocator = ByteBufferAllocator()
        while offset < r.body.count {
            let end = min(r.body.count, offset + partSize)
            tee.append(allocator.buffer(bytes: r.body[offset..<end]), allocator: allocator)
            offset = end
        }
        return ForwardedRequest(method: r.method, uri: r.path, head: head, scanned: scanned, body: tee, receivedAt: Date())
    }

    @Test func everyAcceptedPayloadReachesTheInjectedConsumerOnce() throws {
        let requests = try Fixtures.requests("django-full-v04") + Fixtures.requests("manual-v04")
        let tally = Tally()
        let store = ReportStore()
        let queue = AnalysisQueue(capacity: 4096, maxBytes: 1 << 30, threads: 2, store: store,
                                  consumers: .custom { _ in Counting(tally) })
        var accepted = 0
        var expectedBytes = 0, expectedSum = 0
        // Each request twice: whole (one part) and cut into 16 KiB parts (the contiguous copy).
        for r in requests {
            for partSize in [Int.max / 2, TeeBody.keepAsIsFrom] {
                #expect(queue.offer(.forwarded(try Self.forwarded(r, partSize: partSize))))
                accepted += 1
                expectedBytes += r.body.count
                expectedSum &+= r.body.reduce(0) { $0 &+ Int($1) }
            }
        }
        #expect(queue.offer(.request(CapturedRequest(method: "GET", path: "/info", headers: [], body: [], receivedAt: Date()))))
        #expect(queue.offer(.agentInfo(body: Array("{}".utf8), receivedAt: Date())))
        #expect(queue.offer(.agentVersion("7.70.0", receivedAt: Date())))
        queue.drain()
        #expect(!queue.offer(.agentVersion("7.70.0", receivedAt: Date())))  // refused once draining: never consumed
        let got = tally.counts.withLock { $0 }
        #expect(got.forwarded == accepted)
        #expect(got.forwarded == 2 * requests.count)
        #expect(got.requests == 1)
        #expect(got.agentInfo == 1)
        #expect(got.agentVersion == 1)
        #expect(got.finished == 2)
        #expect(got.forwardedBytes == expectedBytes)
        #expect(got.byteSum == expectedSum)
        #expect(got.targets.sorted() == requests.flatMap { [$0.path, $0.path] }.sorted())
        // The injected consumer replaced the Analyzer: nothing was analysed into the store.
        #expect(store.snapshot().traffic.spans == 0)
    }
}
